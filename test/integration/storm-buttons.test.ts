/**
 * Claim storm, Retry all and Resolve all, clicked by a member, another member, a manager and an
 * outsider. Every member keeps its own state and its own hand-off rows; the storm card and its
 * thread say what happened.
 */
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { exceptions } from "../../src/platform/db/schema.js";
import type { StormRow } from "../../src/storms/storm-card.js";
import { lockStorm } from "../../src/storms/storms.repo.js";
import { eventually, failureEvent } from "../support/harness.js";
import { auditOf, buttonsOf, replyTo, textOf, USERS } from "../support/slack-actions.js";
import {
  burst,
  clickStorm,
  exceptionsOfClient,
  membersOf,
  storm,
  stormAudit,
  stormCard,
  stormFormed,
  submitStormResolve,
} from "../support/storm-actions.js";
import { useHarness } from "../support/use-harness.js";

const RETRY_QUEUE = "feed-publisher";
const retry = { queue: RETRY_QUEUE, name: "publish", data: { feed: "main" } };

const h = useHarness({
  env: { STORM_THRESHOLD: "3", STORM_WINDOW: "10m", STORM_RETRY_INTERVAL_MS: "20" },
});

const stormThread = async (s: StormRow) =>
  h.fake.threadReplies(s.channel, (await storm(h, s.id)).cardTs ?? "").map((m) => String(m.text));
/** Waits for a thread note on the storm card that contains `text`. */
const noteSaying = (s: StormRow, text: string) =>
  eventually(
    async () => (await stormThread(s)).find((note) => note.includes(text)),
    10_000,
    `a storm thread note saying ${text}`,
  );

async function newStorm(client: string, count = 5, withRetry = true): Promise<StormRow> {
  await burst(h, count, { client, failureMode: "throttled", ...(withRetry ? { retry } : {}) });
  const formed = await stormFormed(h, client);
  await eventually(async () => (await membersOf(h, formed.id)).length === count);
  return formed;
}

describe("storm buttons", () => {
  it("refuses an outsider on every button and changes nothing", async () => {
    const s = await newStorm("btn-outsider");
    for (const button of ["claim", "retryAll", "resolveAll"] as const) {
      const click = await clickStorm(h, USERS.eve, s.id, button);
      expect(click.status).toBe(200);
      expect(await replyTo(h, click)).toContain("Only members of *fulfillment-ops*");
    }
    // A forged Resolve all form is refused too.
    const forged = await submitStormResolve(
      h,
      USERS.eve,
      JSON.stringify({ stormId: s.id, channel: s.channel }),
    );
    expect(JSON.stringify(forged.json)).toContain("Only members of fulfillment-ops");
    expect(h.fake.callsTo("views.open")).toHaveLength(0);
    const after = await storm(h, s.id);
    expect([after.claimedBy, after.resolvedBy]).toEqual([null, null]);
    for (const member of await membersOf(h, s.id)) {
      expect(member.state).toBe("open");
      expect((await h.audit(member.id)).filter((row) => row.actor === USERS.eve)).toEqual([]);
    }
    expect(await stormAudit(h, s.id, "storm_claim")).toEqual([]);
  });

  it("refuses a storm id clicked from another channel", async () => {
    // ads.* + throttled routes to ads-ops in C0ADS.
    await burst(h, 4, { client: "btn-ads", targetSystem: "ads.google", failureMode: "throttled" });
    const adsStorm = await stormFormed(h, "btn-ads");
    expect(adsStorm.channel).toBe("C0ADS");
    const click = await clickStorm(h, USERS.alice, adsStorm.id, "claim", { channel: "C0FULFILL" });
    expect(await replyTo(h, click)).toContain(`can't find storm ST-${adsStorm.id} here`);
    expect((await storm(h, adsStorm.id)).claimedBy).toBeNull();
    // A Resolve all form naming that storm but sent from this channel's card, or no storm.
    const moved = await submitStormResolve(
      h,
      USERS.alice,
      JSON.stringify({ stormId: adsStorm.id, channel: "C0FULFILL" }),
    );
    expect(JSON.stringify(moved.json)).toContain(`can't find storm ST-${adsStorm.id} here`);
    const junkForm = await submitStormResolve(h, USERS.alice, '{"stormId":"1 or 1=1"}');
    expect(JSON.stringify(junkForm.json)).toContain("This form has expired");
    expect((await storm(h, adsStorm.id)).resolvedBy).toBeNull();
    // A value that is no storm id at all.
    const junk = await clickStorm(h, USERS.alice, adsStorm.id, "claim", { value: "1; drop" });
    expect(await replyTo(h, junk)).toContain("not one of mine");
  });

  it("Claim storm gives a member every open member and the ones still to come", async () => {
    const s = await newStorm("btn-claim");
    const click = await clickStorm(h, USERS.alice, s.id, "claim");
    expect(click.status).toBe(200);
    await eventually(
      async () => (await membersOf(h, s.id)).every((m) => m.claimedBy === USERS.alice),
      10_000,
      "every member claimed by alice",
    );
    for (const member of await membersOf(h, s.id)) {
      const claims = await auditOf(h, member.id, "claim");
      expect(claims).toHaveLength(1);
      expect(claims[0]).toMatchObject({ actor: USERS.alice, stateBefore: "open" });
    }
    expect(await stormAudit(h, s.id, "storm_claim")).toHaveLength(1);
    await eventually(async () => textOf(await stormCard(h, s.id)).includes(`<@${USERS.alice}>`));
    await noteSaying(s, "*alice* claimed this storm");

    // Another member is told who holds it; nothing changes.
    const late = await clickStorm(h, USERS.bob, s.id, "claim");
    expect(await replyTo(h, late)).toContain(`already claimed by <@${USERS.alice}>`);

    // A new failure of the storm's kind arrives claimed for alice.
    await h.report(failureEvent({ client: "btn-claim", failureMode: "throttled", sku: "LATE-1" }));
    const [lateMember] = await eventually(async () => {
      const rows = await h.exceptionsFor("LATE-1");
      return rows[0]?.stormId === s.id ? rows : null;
    });
    expect(lateMember).toMatchObject({ state: "claimed", claimedBy: USERS.alice, cardTs: null });
    expect(await auditOf(h, lateMember!.id, "claim")).toHaveLength(1);
  });

  it("Retry all: a member cannot retry what another holds; a manager can, paced", async () => {
    const s = await newStorm("btn-retry");
    await clickStorm(h, USERS.alice, s.id, "claim");
    await eventually(async () =>
      (await membersOf(h, s.id)).every((m) => m.claimedBy === USERS.alice),
    );

    const bob = await clickStorm(h, USERS.bob, s.id, "retryAll");
    expect(await replyTo(h, bob)).toContain("5 held by someone else");
    expect((await membersOf(h, s.id)).every((m) => m.state === "claimed")).toBe(true);

    const producer = h.producerQueue(RETRY_QUEUE);
    const manager = await clickStorm(h, USERS.manager, s.id, "retryAll");
    expect(manager.status).toBe(200);
    const jobs = await eventually(
      async () => {
        const waiting = await producer.getJobs(["waiting", "active", "completed"]);
        const mine = waiting.filter((job) => job.data?.feed === "main");
        return mine.length === 5 ? mine : null;
      },
      10_000,
      "5 retry jobs on the producer's queue",
    );
    // The job is queued inside the member's transaction; its commit follows.
    const members = await eventually(async () => {
      const rows = await membersOf(h, s.id);
      return rows.every((m) => m.state === "retrying") ? rows : null;
    });
    expect(new Set(jobs.map((job) => job.data.syncdesk.exceptionId))).toEqual(
      new Set(members.map((m) => m.id)),
    );
    // Paced: each member's retry waited one interval (20 ms here) more than the one before.
    const paced = await h.bot.deps.queues.internal.getJobs([
      "completed",
      "active",
      "delayed",
      "waiting",
    ]);
    const delays = paced
      .filter((job) => job.name === "storms.retry-member" && job.data.stormId === s.id)
      .map((job) => job.opts.delay ?? 0)
      .sort((a, b) => a - b);
    expect(delays).toEqual([0, 20, 40, 60, 80]);
    for (const member of members) {
      expect(member.state).toBe("retrying");
      const retries = await auditOf(h, member.id, "retry");
      expect(retries).toHaveLength(1);
      expect(retries[0]).toMatchObject({ actor: USERS.manager, stateBefore: "claimed" });
    }
    await noteSaying(s, "*mgr* queued retries of 5 members");

    // A second click finds them all retrying: nothing is queued twice.
    const again = await clickStorm(h, USERS.manager, s.id, "retryAll");
    expect(await replyTo(h, again)).toContain("5 already retrying");
    expect((await producer.getJobs(["waiting", "active", "completed"])).length).toBe(5);
  });

  it("Resolve all: one note and root cause for every member, each with its own record", async () => {
    const s = await newStorm("btn-resolve", 4, false);
    const click = await clickStorm(h, USERS.dave, s.id, "resolveAll");
    const opened = await h.fake.waitForCall(
      "views.open",
      (call) => call.body.trigger_id === click.triggerId,
    );
    const view = opened.body.view as { private_metadata: string; callback_id: string };
    expect(view.callback_id).toBe("storm.resolve.submit");

    // An empty note is refused in the form.
    const empty = await submitStormResolve(h, USERS.dave, view.private_metadata, { note: " " });
    expect(JSON.stringify(empty.json)).toContain('"response_action":"errors"');

    const done = await submitStormResolve(h, USERS.dave, view.private_metadata, {
      note: "ERP raised the rate limit; feed re-sent",
      rootCause: "target_outage",
    });
    expect(done.status).toBe(200);
    expect(done.body).toBe("");
    await eventually(
      async () => (await membersOf(h, s.id)).every((m) => m.state === "resolved"),
      10_000,
      "every member resolved",
    );
    for (const member of await membersOf(h, s.id)) {
      expect(member).toMatchObject({
        resolvedBy: USERS.dave,
        resolution: "manual",
        rootCause: "target_outage",
        resolutionNote: "ERP raised the rate limit; feed re-sent",
      });
      const rows = await auditOf(h, member.id, "resolve");
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ actor: USERS.dave, stateAfter: "resolved" });
    }
    // The card shows who resolved all and why, and offers no more buttons.
    await eventually(async () => {
      const card = await stormCard(h, s.id);
      const text = textOf(card);
      return text.includes(`*Resolve all* by <@${USERS.dave}>`) &&
        text.includes("resolved 4") &&
        text.includes("ERP raised the rate limit") &&
        buttonsOf(card).length === 0
        ? text
        : null;
    });
    await noteSaying(s, "*dave* resolved 4 members");

    // Clicking again: nothing left to resolve.
    const late = await clickStorm(h, USERS.manager, s.id, "resolveAll");
    expect(await replyTo(h, late)).toContain("already resolved");
  });

  it("Resolve all by a member leaves what another holds; a manager's resolves it", async () => {
    const s = await newStorm("btn-resolve-held", 4, false);
    const [first] = await membersOf(h, s.id);
    // Bob holds one member (claimed through the service, as his own card click would).
    const { actOnException } = await import("../../src/exceptions/exceptions.service.js");
    const held = await actOnException(h.bot.deps, {
      exceptionId: first!.id,
      actor: { userId: USERS.bob, name: "bob" },
      action: { kind: "claim" },
    });
    expect(held.ok).toBe(true);

    const meta = JSON.stringify({ stormId: s.id, channel: s.channel });
    expect((await submitStormResolve(h, USERS.alice, meta)).status).toBe(200);
    await eventually(async () => {
      const members = await membersOf(h, s.id);
      return members.filter((m) => m.state === "resolved").length === 3;
    });
    await noteSaying(s, "1 held by someone else");
    expect((await h.exception(first!.id)).claimedBy).toBe(USERS.bob);

    expect((await submitStormResolve(h, USERS.manager, meta)).status).toBe(200);
    await eventually(async () => (await h.exception(first!.id)).state === "resolved");
    expect(await auditOf(h, first!.id, "resolve")).toMatchObject([{ actor: USERS.manager }]);
  });
  it("a storm action holding the storm does not stop a member joining it", async () => {
    const s = await newStorm("btn-locks");
    await burst(h, 1, { client: "btn-locks-other", failureMode: "throttled" });
    const [joining] = await eventually(async () => {
      const rows = await exceptionsOfClient(h, "btn-locks-other");
      return rows.length > 0 ? rows : undefined;
    });
    const db = h.bot.deps.db;
    // Claim storm, Resolve all and the storm's end hold this lock while they change members;
    // a member row naming the storm (its foreign key) must still be writable meanwhile.
    await db.transaction(async (holder) => {
      expect(await lockStorm(holder, s.id)).toBeDefined();
      await db.transaction(async (tx) => {
        await tx.execute(sql`set local lock_timeout = '2s'`);
        await tx.update(exceptions).set({ stormId: s.id }).where(eq(exceptions.id, joining!.id));
      });
    });
    expect(await membersOf(h, s.id)).toHaveLength(6);
  });

  it("acks a click whose database work fails and tells the clicker nothing was changed", async () => {
    const s = await newStorm("btn-db-fails");
    // Postgres refuses any change to this storm's row, as it would in an outage mid-click.
    await h.bot.deps.db.execute(
      sql.raw(`create function storms_refuse() returns trigger language plpgsql as $$
        begin raise exception 'storms are read-only in this test'; end $$`),
    );
    await h.bot.deps.db.execute(
      sql.raw(`create trigger storms_refuse before update on storms
        for each row when (old.id = ${s.id}) execute function storms_refuse()`),
    );
    try {
      const click = await clickStorm(h, USERS.alice, s.id, "claim");
      expect(click.status).toBe(200);
      expect(await replyTo(h, click)).toContain("Nothing was changed; try again");
    } finally {
      await h.bot.deps.db.execute(sql.raw("drop trigger storms_refuse on storms"));
      await h.bot.deps.db.execute(sql.raw("drop function storms_refuse()"));
    }
    expect((await storm(h, s.id)).claimedBy).toBeNull();
    expect(await stormAudit(h, s.id, "storm_claim")).toEqual([]);
    for (const member of await membersOf(h, s.id)) expect(member.claimedBy).toBeNull();
  });
});
