/**
 * Every card button for every kind of person: members (listed and through the user group),
 * managers and outsiders. A click changes the card in place, adds one thread line that does
 * not ping the person who clicked, and leaves an audit row; a refused or stale click changes
 * nothing and tells the clicker why.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { RETRY, useCardButtons } from "../support/card-buttons.js";
import { eventually } from "../support/harness.js";
import {
  auditOf,
  buttonsOf,
  cardOf,
  click,
  replyTo,
  textOf,
  threadOf,
  USERS,
} from "../support/slack-actions.js";

const { h, openException, snapshot, clickAndSettle, expectAnnounced, expectRefused } =
  useCardButtons("BTN");

describe("Claim", () => {
  it("a listed member claims: card, one thread line without a ping, audit row", async () => {
    const row = await openException();
    const before = await clickAndSettle(USERS.alice, row.id, "claim");
    const after = await h.exception(row.id);
    expect(after).toMatchObject({ state: "claimed", claimedBy: USERS.alice });
    expect(after.claimedAt).toBeInstanceOf(Date);
    await expectAnnounced(row.id, before, {
      actor: USERS.alice,
      action: "claim",
      stateBefore: "open",
      stateAfter: "claimed",
    });
    const card = await cardOf(h, row.id);
    expect(textOf(card)).toContain("*Claimed* by <@U0ALICE>");
    expect(buttonsOf(card)).toContain("Unclaim");
    expect(buttonsOf(card)).not.toContain("Claim");
    expect((await threadOf(h, row.id)).at(-1)).toContain("*alice* claimed this.");
  });

  it("a member through the Slack user group may claim", async () => {
    const row = await openException();
    const before = await clickAndSettle(USERS.dave, row.id, "claim");
    expect((await h.exception(row.id)).claimedBy).toBe(USERS.dave);
    await expectAnnounced(row.id, before, {
      actor: USERS.dave,
      action: "claim",
      stateBefore: "open",
      stateAfter: "claimed",
    });
    expect(h.fake.callsTo("usergroups.users.list")[0]?.body.usergroup).toBe("S0FULFILL");
  });

  it("a manager may claim", async () => {
    const row = await openException();
    await clickAndSettle(USERS.manager, row.id, "claim");
    expect((await h.exception(row.id)).claimedBy).toBe(USERS.manager);
  });

  it("an outsider, or a member of another role, is told why and nothing changes", async () => {
    const row = await openException();
    for (const userId of [USERS.eve, USERS.carol]) {
      const reply = await expectRefused(
        userId,
        row.id,
        "claim",
        "Only members of *fulfillment-ops*",
      );
      expect(reply).toContain("Nothing was changed");
    }
    expect((await h.exception(row.id)).state).toBe("open");
  });

  it("a stale click on a claimed card names who holds it", async () => {
    const row = await openException();
    await clickAndSettle(USERS.alice, row.id, "claim");
    await expectRefused(
      USERS.bob,
      row.id,
      "claim",
      `EX-${row.id} is already claimed by <@U0ALICE>`,
    );
    await expectRefused(USERS.manager, row.id, "claim", "already claimed by <@U0ALICE>");
    // The holder's own double click changes nothing either.
    await expectRefused(USERS.alice, row.id, "claim", "already claimed");
  });

  it("two people clicking Claim at the same moment: exactly one claim, the other is told", async () => {
    const row = await openException();
    const [a, b] = await Promise.all([
      click(h, USERS.alice, row.id, "claim"),
      click(h, USERS.bob, row.id, "claim"),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const claimed = await eventually(async () => (await h.exception(row.id)).claimedBy);
    const [winner, loser] = claimed === USERS.alice ? [a, b] : [b, a];
    expect(await replyTo(h, loser)).toContain(`already claimed by <@${claimed}>`);
    await eventually(async () => (await threadOf(h, row.id)).length === 1);
    expect(await auditOf(h, row.id, "claim")).toHaveLength(1);
    expect(h.fake.responses(winner.responseId)).toEqual([]);
  });
});

describe("Unclaim", () => {
  it("the holder releases it: open again, announced and recorded", async () => {
    const row = await openException();
    await clickAndSettle(USERS.bob, row.id, "claim");
    const before = await clickAndSettle(USERS.bob, row.id, "unclaim");
    expect(await h.exception(row.id)).toMatchObject({ state: "open", claimedBy: null });
    await expectAnnounced(row.id, before, {
      actor: USERS.bob,
      action: "unclaim",
      stateBefore: "claimed",
      stateAfter: "open",
    });
    expect(buttonsOf(await cardOf(h, row.id))).toContain("Claim");
  });

  it("a member cannot release someone else's claim", async () => {
    const row = await openException();
    await clickAndSettle(USERS.alice, row.id, "claim");
    await expectRefused(USERS.bob, row.id, "unclaim", `EX-${row.id} is held by <@U0ALICE>`);
    expect((await h.exception(row.id)).claimedBy).toBe(USERS.alice);
  });

  it("a manager may release anyone's claim; the audit says whose", async () => {
    const row = await openException();
    await clickAndSettle(USERS.alice, row.id, "claim");
    const before = await clickAndSettle(USERS.manager, row.id, "unclaim");
    await expectAnnounced(row.id, before, {
      actor: USERS.manager,
      action: "unclaim",
      stateBefore: "claimed",
      stateAfter: "open",
    });
    expect((await auditOf(h, row.id, "unclaim"))[0]?.details).toEqual({ from: USERS.alice });
  });

  it("an outsider cannot release, and an unclaimed card has nothing to release", async () => {
    const row = await openException();
    await expectRefused(USERS.bob, row.id, "unclaim", "not claimed by anyone");
    await clickAndSettle(USERS.alice, row.id, "claim");
    await expectRefused(USERS.eve, row.id, "unclaim", "Only members of *fulfillment-ops*");
  });
});

describe("Retry", () => {
  it("queues the producer's job with a syncdesk field and a deterministic id, once", async () => {
    const row = await openException({ retry: RETRY });
    await clickAndSettle(USERS.alice, row.id, "claim");
    const before = await clickAndSettle(USERS.alice, row.id, "retry");
    const after = await h.exception(row.id);
    const jobId = `syncdesk-retry-${row.id}-1`;
    expect(after).toMatchObject({
      state: "retrying",
      retryCount: 1,
      retryJobId: jobId,
      retryQueue: RETRY.queue,
      retryRequestedBy: USERS.alice,
      claimedBy: USERS.alice,
    });
    const job = await h.producerQueue(RETRY.queue).getJob(jobId);
    expect(job?.name).toBe(RETRY.name);
    expect(job?.data).toEqual({
      ...RETRY.data,
      syncdesk: { exceptionId: row.id, retryNumber: 1, requestedBy: USERS.alice },
    });
    expect(jobId).not.toContain(":");
    await expectAnnounced(row.id, before, {
      actor: USERS.alice,
      action: "retry",
      stateBefore: "claimed",
      stateAfter: "retrying",
    });
    const [audit] = await auditOf(h, row.id, "retry");
    expect(audit?.expectedOutcome).toContain(jobId);
    const card = await cardOf(h, row.id);
    expect(textOf(card)).toContain("*Retry #1 queued* by <@U0ALICE>");
    expect(buttonsOf(card)).not.toContain("Retry");

    // A second click while it runs queues nothing more.
    await expectRefused(USERS.alice, row.id, "retry", "already queued");
    expect(await h.producerQueue(RETRY.queue).getJobCounts("waiting")).toMatchObject({
      waiting: 1,
    });
  });

  it("an unclaimed card may be retried by a member; a manager may retry anyone's", async () => {
    const open = await openException({ retry: RETRY });
    await clickAndSettle(USERS.dave, open.id, "retry");
    expect(await h.exception(open.id)).toMatchObject({ state: "retrying", claimedBy: null });

    const held = await openException({ retry: RETRY });
    await clickAndSettle(USERS.alice, held.id, "claim");
    await expectRefused(USERS.bob, held.id, "retry", "held by <@U0ALICE>");
    await clickAndSettle(USERS.manager, held.id, "retry");
    expect(await h.exception(held.id)).toMatchObject({
      state: "retrying",
      claimedBy: USERS.alice,
      retryRequestedBy: USERS.manager,
    });
  });

  it("is refused without a retry spec (a forged click) and for outsiders, queueing nothing", async () => {
    const noSpec = await openException();
    await expectRefused(USERS.alice, noSpec.id, "retry", "has no retry job");
    const withSpec = await openException({ retry: RETRY });
    await expectRefused(USERS.eve, withSpec.id, "retry", "Only members of *fulfillment-ops*");
    expect(await h.producerQueue(RETRY.queue).getJob(`syncdesk-retry-${withSpec.id}-1`)).toBe(
      undefined,
    );
  });
});

describe("when Postgres or Redis fails mid-click", () => {
  it("tells the clicker nothing was changed, and nothing was", async () => {
    const row = await openException({ retry: RETRY });
    // Postgres refuses the click's audit row (as a full disk or a lost connection would), so
    // the transaction holding the state change rolls back. This file's database only.
    const db = h.bot.deps.db;
    await db.execute(sql`
      create function refuse_retry_audit() returns trigger language plpgsql
        as $$ begin raise exception 'injected failure'; end $$`);
    await db.execute(sql`
      create trigger refuse_retry_audit before insert on audit_log for each row
        when (new.action = 'retry') execute function refuse_retry_audit()`);
    try {
      await expectRefused(USERS.alice, row.id, "retry", "Nothing was changed; try again");
      expect(await h.exception(row.id)).toMatchObject({ state: "open", retryCount: 0 });
    } finally {
      await db.execute(sql`drop trigger refuse_retry_audit on audit_log`);
      await db.execute(sql`drop function refuse_retry_audit()`);
    }
  });
});

describe("a click while the database fails", () => {
  /** The next `times` writes of this exception fail as a failover or deadlock would. */
  async function failWrites(id: number, sqlstate: string, times: number) {
    await h.bot.deps.db.execute(
      sql.raw(`
      create sequence if not exists fail_${id}_seq;
      create or replace function fail_${id}() returns trigger language plpgsql as $$
      begin
        if new.id = ${id} and nextval('fail_${id}_seq') <= ${times} then
          raise exception 'injected failure' using errcode = '${sqlstate}';
        end if;
        return new;
      end $$;
      create trigger fail_${id} before update on exceptions
        for each row execute function fail_${id}();`),
    );
  }

  it("is tried again through a brief failure: the claim lands and the clicker hears no error", async () => {
    const row = await openException();
    await failWrites(row.id, "40P01", 2); // deadlock_detected, twice
    const res = await click(h, USERS.alice, row.id, "claim");
    expect(res.status).toBe(200);
    await eventually(async () => (await h.exception(row.id)).claimedBy === USERS.alice);
    expect(await auditOf(h, row.id, "claim")).toHaveLength(1);
    expect(h.fake.responses(res.responseId)).toEqual([]);
  });

  it("says nothing changed when the failure outlasts the attempts, and changes nothing", async () => {
    const row = await openException();
    const before = await snapshot(row.id);
    await failWrites(row.id, "57P01", 1000); // admin_shutdown, every time
    const res = await click(h, USERS.alice, row.id, "claim");
    expect(res.status).toBe(200);
    expect(await replyTo(h, res)).toContain("Nothing was changed");
    expect(await snapshot(row.id)).toEqual(before);
  });
});
