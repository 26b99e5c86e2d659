/**
 * Every card button for every kind of person: members (listed and through the user group),
 * managers and outsiders. A click changes the card in place, adds one thread line that does
 * not ping the person who clicked, and leaves an audit row; a refused or stale click changes
 * nothing and tells the clicker why.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { FailureEventInput } from "../../src/intake/failure-event.schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import {
  auditOf,
  type Button,
  buttonsOf,
  type ClickOptions,
  callsOnCard,
  cardOf,
  click,
  DESK,
  posted,
  replyTo,
  submitResolve,
  textOf,
  threadOf,
  USERS,
} from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

// This file opens many unrelated exceptions quickly; it is not about storms.
const h = useHarness({ ...DESK, env: { STORM_THRESHOLD: "1000" } });

const RETRY = {
  queue: "storefront-sync",
  name: "sync.sku",
  data: { sku: "placeholder", store: "eu-1" },
};

let seq = 0;
/** A fresh exception with its card posted. */
async function openException(overrides: Partial<FailureEventInput> = {}) {
  seq += 1;
  const sku = `SKU-BTN-${seq}`;
  await h.report(failureEvent({ sku, ...overrides }));
  const [row] = await posted(h, sku);
  return row!;
}

/** What the card, its thread and the audit trail hold now, to compare after a click. */
async function snapshot(id: number) {
  return {
    row: await h.exception(id),
    updates: await callsOnCard(h, id, "chat.update"),
    replies: (await threadOf(h, id)).length,
    audit: (await h.audit(id)).length,
  };
}

/** Clicks and waits until the change is announced (the thread line is the last step). */
async function clickAndSettle(userId: string, id: number, button: Button) {
  const before = await snapshot(id);
  const res = await click(h, userId, id, button);
  expect(res.status).toBe(200);
  await eventually(
    async () => (await threadOf(h, id)).length > before.replies,
    10_000,
    `the thread line for ${button} by ${userId}`,
  );
  return before;
}

/** The click was announced as the issue asks: card updated in place, one line, one audit row. */
async function expectAnnounced(
  id: number,
  before: Awaited<ReturnType<typeof snapshot>>,
  expected: { actor: string; action: string; stateBefore: string; stateAfter: string },
) {
  expect(await callsOnCard(h, id, "chat.update")).toBeGreaterThan(before.updates);
  const replies = await threadOf(h, id);
  expect(replies).toHaveLength(before.replies + 1);
  expect(replies.at(-1)).not.toContain(`<@${expected.actor}>`);
  const audit = await auditOf(h, id, expected.action);
  expect(audit.at(-1)).toMatchObject({ ...expected, source: "slack" });
  expect((await h.audit(id)).length).toBe(before.audit + 1);
  // Still one card: the click never posts a second one.
  const row = await h.exception(id);
  const cards = h.fake.messages(row.channel).filter((m) => String(m.text).includes(row.sku));
  expect(cards).toHaveLength(1);
}

/** A refused click: the clicker is told, and nothing else happens. */
async function expectRefused(
  userId: string,
  id: number,
  button: Button,
  says: string | RegExp,
  options: ClickOptions = {},
) {
  const before = await snapshot(id);
  const res = await click(h, userId, id, button, options);
  expect(res.status).toBe(200);
  const reply = await replyTo(h, res);
  if (typeof says === "string") expect(reply).toContain(says);
  else expect(reply).toMatch(says);
  const after = await snapshot(id);
  expect(after).toEqual(before);
  return reply;
}

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

describe("Resolve", () => {
  it("opens the modal for a member, bound to this exception and channel", async () => {
    const row = await openException();
    const res = await click(h, USERS.bob, row.id, "resolve");
    const call = await h.fake.waitForCall("views.open", (c) => c.body.trigger_id === res.triggerId);
    const view = call.body.view as Record<string, unknown>;
    expect(view.callback_id).toBe("exception.resolve.submit");
    expect(JSON.parse(String(view.private_metadata))).toEqual({
      exceptionId: row.id,
      channel: "C0FULFILL",
    });
    expect(JSON.stringify(view.blocks)).toContain('"block_id":"note"');
    expect(JSON.stringify(view.blocks)).toContain('"block_id":"root_cause"');
    expect((await h.exception(row.id)).state).toBe("open");
  });

  it("refuses an outsider without opening the modal", async () => {
    const row = await openException();
    const res = await click(h, USERS.eve, row.id, "resolve");
    expect(await replyTo(h, res)).toContain("Only members of *fulfillment-ops*");
    expect(h.fake.callsTo("views.open").some((c) => c.body.trigger_id === res.triggerId)).toBe(
      false,
    );
  });

  it("a submission with a note and root cause resolves: card keeps details and says who, how, why", async () => {
    const row = await openException({ retry: RETRY });
    await clickAndSettle(USERS.alice, row.id, "claim");
    const before = await snapshot(row.id);
    const res = await submitResolve(h, USERS.alice, row.id, {
      note: "Re-mapped the size attribute <b>",
      rootCause: "mapping_schema",
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe("");
    await eventually(async () => (await threadOf(h, row.id)).length > before.replies);
    const after = await h.exception(row.id);
    expect(after).toMatchObject({
      state: "resolved",
      resolution: "manual",
      resolvedBy: USERS.alice,
      rootCause: "mapping_schema",
      resolutionNote: "Re-mapped the size attribute <b>",
    });
    await expectAnnounced(row.id, before, {
      actor: USERS.alice,
      action: "resolve",
      stateBefore: "claimed",
      stateAfter: "resolved",
    });
    expect((await auditOf(h, row.id, "resolve"))[0]?.note).toBe("Re-mapped the size attribute <b>");
    const card = await cardOf(h, row.id);
    const text = textOf(card);
    expect(text).toContain("*Resolved* by <@U0ALICE>");
    expect(text).toContain("Root cause: Mapping or schema");
    expect(text).toContain("Re-mapped the size attribute &lt;b&gt;");
    expect(text).toContain(row.sku);
    expect(text).toContain("Shopify accepted 40 of 41 variants");
    expect(buttonsOf(card)).toEqual([]);
  });

  it("a manager may resolve what a member holds", async () => {
    const row = await openException();
    await clickAndSettle(USERS.bob, row.id, "claim");
    const res = await submitResolve(h, USERS.manager, row.id, { note: "Closed by the manager" });
    expect(res.body).toBe("");
    await eventually(async () => (await h.exception(row.id)).resolvedBy === USERS.manager);
  });

  it("shows field errors for an empty note or no root cause, and changes nothing", async () => {
    const row = await openException();
    const emptyNote = await submitResolve(h, USERS.alice, row.id, { note: "  " });
    expect(emptyNote.json).toMatchObject({
      response_action: "errors",
      errors: { note: expect.any(String) },
    });
    const noCause = await submitResolve(h, USERS.alice, row.id, { rootCause: null });
    expect(noCause.json).toMatchObject({
      response_action: "errors",
      errors: { root_cause: "Pick a root cause." },
    });
    expect((await h.exception(row.id)).state).toBe("open");
    expect(await h.audit(row.id)).toHaveLength(2); // opened, card_posted
  });

  it("refuses an outsider's submission, even with a forged form, and a member's on a held card", async () => {
    const row = await openException();
    const forged = await submitResolve(h, USERS.eve, row.id, {
      privateMetadata: JSON.stringify({ exceptionId: row.id }),
    });
    expect(forged.json).toMatchObject({ response_action: "errors" });
    expect(JSON.stringify(forged.json)).toContain("Only members of fulfillment-ops");
    const garbage = await submitResolve(h, USERS.alice, row.id, { privateMetadata: "{nope" });
    expect(garbage.json).toMatchObject({ response_action: "errors" });

    await clickAndSettle(USERS.alice, row.id, "claim");
    const held = await submitResolve(h, USERS.bob, row.id);
    // A modal's field error is plain text: the holder by name (users.info; the stand-in's
    // "User <id>"), not "<@U0ALICE>" or a bare ID.
    expect(JSON.stringify(held.json)).toContain("held by User U0ALICE");
    expect((await h.exception(row.id)).state).toBe("claimed");
    expect(await auditOf(h, row.id, "resolve")).toEqual([]);
  });
});

describe("stale and foreign clicks", () => {
  it("every button on a resolved card says who resolved it and changes nothing", async () => {
    const row = await openException({ retry: RETRY });
    await submitResolve(h, USERS.bob, row.id, { note: "Fixed at the source" });
    await eventually(async () => (await threadOf(h, row.id)).length === 1);
    for (const [user, button] of [
      [USERS.alice, "claim"],
      [USERS.manager, "unclaim"],
      [USERS.alice, "retry"],
      [USERS.alice, "resolve"],
    ] as const) {
      await expectRefused(user, row.id, button, `already resolved by <@U0BOB>`);
    }
    const second = await submitResolve(h, USERS.alice, row.id, { note: "Me too" });
    expect(JSON.stringify(second.json)).toContain("already resolved by User U0BOB");
    expect((await h.exception(row.id)).resolvedBy).toBe(USERS.bob);
  });

  it("refuses a button value that points at another channel's exception", async () => {
    const ads = await openException({
      targetSystem: "ads.google-merchant",
      failureMode: "throttled",
    });
    expect(ads.channel).toBe("C0ADS");
    const ours = await openException();
    for (const button of ["claim", "unclaim", "retry", "resolve"] as const) {
      await expectRefused(USERS.manager, ours.id, button, `I can't find EX-${ours.id} here`, {
        channel: "C0ADS",
        messageTs: ads.cardTs!,
      });
    }
    expect((await h.exception(ours.id)).state).toBe("open");
  });

  it("refuses a button value that is not an exception id", async () => {
    const row = await openException();
    for (const value of ["abc", "0", "-1", "1e3", "99999999"]) {
      const res = await click(h, USERS.alice, row.id, "claim", { value });
      expect(await replyTo(h, res)).toMatch(/not one of mine|can't find/);
    }
    expect((await h.exception(row.id)).state).toBe("open");
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
