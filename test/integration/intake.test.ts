/**
 * Intake end to end: a producer's job becomes a card in the right channel, repeats fold into
 * one exception, a repeat after resolution reopens, and bad data becomes a readable rejection
 * without stopping the worker.
 */
import { asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { failureJobId } from "../../src/intake/failure-event.schema.js";
import {
  auditLog,
  failureEvents,
  rejectedEvents,
  rejectionGroups,
} from "../../src/platform/db/schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import {
  auditOf,
  buttonsOf,
  callsOnCard,
  cardOf,
  DESK,
  posted,
  replyTo,
  submitResolve,
  textOf,
  USERS,
} from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

// This file opens many unrelated exceptions quickly; it is not about storms.
const h = useHarness({ ...DESK, env: { STORM_THRESHOLD: "1000" } });

const db = () => h.bot.deps.db;

async function rejectionsFor(jobId: string) {
  return db().select().from(rejectedEvents).where(eq(rejectedEvents.sourceJobId, jobId));
}

/**
 * Waits for a rejection to be recorded and its group's card posted; the row comes back with
 * where that card is (`cardChannel`, `cardTs`) and the group's id.
 */
async function rejected(jobId: string) {
  return eventually(
    async () => {
      const [row] = await rejectionsFor(jobId);
      if (!row?.groupId) return null;
      const [group] = await db()
        .select()
        .from(rejectionGroups)
        .where(eq(rejectionGroups.id, row.groupId));
      return group?.cardTs
        ? { ...row, cardChannel: group.cardChannel, cardTs: group.cardTs }
        : null;
    },
    10_000,
    `rejection of job ${jobId}`,
  );
}

function rejectedCard(row: { cardChannel: string | null; cardTs: string | null }) {
  const card = h.fake.messages(row.cardChannel ?? "").find((m) => m.ts === row.cardTs);
  if (!card) throw new Error("rejected card not found");
  return card;
}

describe("a valid failure event", () => {
  it("opens an exception and posts one card with every field to the owning role's channel", async () => {
    const event = failureEvent({
      sku: "SKU-FULL-1",
      client: "globex",
      vertical: "apparel",
      sourceSystem: "erp.netsuite",
      targetSystem: "storefront.shopify",
      operation: "stock_update",
      failureMode: "partial_write",
      error: { message: "Shopify accepted 40 of 41 variants", code: "PARTIAL", httpStatus: 207 },
      attempts: 5,
      quantity: { expected: 41, observed: 40 },
      traceId: "trace-abc-123",
      links: [{ label: "Run log", url: "https://pipelines.example.com/runs/42" }],
      retry: { queue: "storefront-sync", name: "sync.sku", data: { sku: "SKU-FULL-1" } },
    });
    await h.report(event);
    const [row] = await posted(h, "SKU-FULL-1");
    expect(row).toMatchObject({
      channel: "C0FULFILL",
      role: "fulfillment-ops",
      ruleIndex: 2,
      severity: "normal",
      state: "open",
      occurrences: 1,
      client: "globex",
      vertical: "apparel",
      sourceSystem: "erp.netsuite",
      targetSystem: "storefront.shopify",
      failureMode: "partial_write",
    });
    const card = await cardOf(h, row!.id);
    const text = textOf(card);
    for (const expected of [
      `EX-${row!.id}`,
      "NORMAL",
      "globex (apparel)",
      "SKU-FULL-1",
      "erp.netsuite → storefront.shopify",
      "partial_write · stock_update",
      "Shopify accepted 40 of 41 variants",
      "HTTP 207",
      "code PARTIAL",
      "trace trace-abc-123",
      "5 automatic",
      "*Occurrences*\n1",
      "*First seen*",
      "*Last seen*",
      "fulfillment-ops (rule 3)",
      "expected 41 · observed 40 · drift -1",
      "<https://pipelines.example.com/runs/42|Run log>",
      "*Open*",
    ]) {
      expect(text).toContain(expected);
    }
    expect(buttonsOf(card)).toEqual(["Claim", "Retry", "Resolve…"]);
    expect(String(card.text)).toContain("SKU-FULL-1");
    expect((await auditOf(h, row!.id, "opened")).length).toBe(1);
    expect((await auditOf(h, row!.id, "card_posted")).length).toBe(1);
  });

  it("takes an event carrying a field this desk does not know yet, keeps it, and shows it nowhere", async () => {
    const event = {
      ...failureEvent({ sku: "SKU-NEWER-PRODUCER" }),
      schemaVersion: 1,
      warehouseZone: "<!channel> B-12",
    };
    await h.reportRaw(event, "newer-producer-1");
    const [row] = await posted(h, "SKU-NEWER-PRODUCER");
    const [stored] = await db()
      .select()
      .from(failureEvents)
      .where(eq(failureEvents.eventId, event.eventId));
    expect(stored?.payload).toMatchObject({ warehouseZone: "<!channel> B-12" });
    expect(JSON.stringify((await cardOf(h, row!.id)).blocks)).not.toContain("B-12");
  });

  it("offers no Retry button when the producer gave no retry spec", async () => {
    await h.report(failureEvent({ sku: "SKU-NORETRY" }));
    const [row] = await posted(h, "SKU-NORETRY");
    expect(buttonsOf(await cardOf(h, row!.id))).toEqual(["Claim", "Resolve…"]);
  });
});

describe("dedupe", () => {
  it("treats the same eventId delivered twice as one occurrence with one card", async () => {
    const event = failureEvent({ sku: "SKU-DEDUPE" });
    // Twice through the producer helper (BullMQ drops the second add) and twice more as raw
    // jobs with other job ids, as an at-least-once pipeline may deliver it.
    await h.report(event);
    await h.report(event);
    await h.reportRaw(event, "dup-a");
    await h.reportRaw(event, "dup-b");
    const [row] = await posted(h, "SKU-DEDUPE");
    const jobs = await Promise.all(
      ["dup-a", "dup-b", failureJobId(event.eventId)].map((id) =>
        h.bot.deps.queues.failures.getJob(id),
      ),
    );
    await eventually(async () => {
      const states = await Promise.all(jobs.map((job) => job?.getState()));
      return states.every((state) => state === "completed");
    });
    const rows = await h.exceptionsFor("SKU-DEDUPE");
    expect(rows).toHaveLength(1);
    expect((await h.exception(row!.id)).occurrences).toBe(1);
    const stored = await db()
      .select()
      .from(failureEvents)
      .where(eq(failureEvents.exceptionId, row!.id));
    expect(stored).toHaveLength(1);
    expect(
      h.fake.callsTo("chat.postMessage").filter((c) => String(c.body.text).includes("SKU-DEDUPE")),
    ).toHaveLength(1);
    expect(await auditOf(h, row!.id, "occurrence_added")).toEqual([]);
  });

  it("folds repeats of a fingerprint into one exception and updates its card in place", async () => {
    const first = failureEvent({
      sku: "SKU-REPEAT",
      occurredAt: "2026-11-26T09:00:00Z",
      error: { message: "first error" },
    });
    await h.report(first);
    const [row] = await posted(h, "SKU-REPEAT");
    const updatesBefore = await callsOnCard(h, row!.id, "chat.update");
    await h.report({
      ...first,
      eventId: `${first.eventId}-2`,
      occurredAt: "2026-11-26T09:05:00Z",
      error: { message: "second error, later" },
    });
    await eventually(async () => (await h.exception(row!.id)).occurrences === 2);
    await eventually(
      async () => textOf(await cardOf(h, row!.id)).includes("second error, later"),
      10_000,
      "the card to show the latest error",
    );
    const card = await cardOf(h, row!.id);
    expect(textOf(card)).toContain("*Occurrences*\n2");
    expect(textOf(card)).not.toContain("first error");
    expect(await callsOnCard(h, row!.id, "chat.update")).toBeGreaterThan(updatesBefore);
    expect(
      h.fake.messages("C0FULFILL").filter((m) => String(m.text).includes("SKU-REPEAT")),
    ).toHaveLength(1);
    expect(await h.exceptionsFor("SKU-REPEAT")).toHaveLength(1);
    const audit = await auditOf(h, row!.id, "occurrence_added");
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: "system", source: "intake", stateBefore: "open" });

    // A late delivery of an older failure counts, widens first seen, and keeps the latest error.
    await h.report({
      ...first,
      eventId: `${first.eventId}-0`,
      occurredAt: "2026-11-26T08:00:00Z",
      error: { message: "oldest error" },
    });
    await eventually(async () => (await h.exception(row!.id)).occurrences === 3);
    const after = await h.exception(row!.id);
    expect(after.firstSeenAt.toISOString()).toBe("2026-11-26T08:00:00.000Z");
    expect(after.lastSeenAt.toISOString()).toBe("2026-11-26T09:05:00.000Z");
    expect((after.latestEvent as { error: { message: string } }).error.message).toBe(
      "second error, later",
    );
  });

  it("numbers exceptions without gaps, however many repeats and duplicates come between", async () => {
    const ids: number[] = [];
    for (const sku of ["SKU-SEQ-A", "SKU-SEQ-B", "SKU-SEQ-C"]) {
      const event = failureEvent({ sku });
      await h.report(event);
      const [row] = await posted(h, sku);
      ids.push(row!.id);
      // Repeats of this one, and a duplicate delivery, before the next opens.
      for (let i = 0; i < 5; i++) await h.report({ ...event, eventId: `${event.eventId}-${i}` });
      await h.report(event);
      await eventually(async () => (await h.exception(row!.id)).occurrences === 6);
    }
    expect(ids).toEqual([ids[0], ids[0]! + 1, ids[0]! + 2]);
  });

  it("opens exactly one exception when deliveries of a new fingerprint race", async () => {
    const extra = await h.startAnother(["worker"]);
    expect(extra.port).toBeNull();
    const base = failureEvent({ sku: "SKU-RACE", failureMode: "conflict" });
    const copies = Array.from({ length: 12 }, (_, i) => ({
      ...base,
      eventId: `${base.eventId}-${i}`,
    }));
    await Promise.all(copies.map((event) => h.report(event)));
    const [row] = await posted(h, "SKU-RACE");
    await eventually(async () => (await h.exception(row!.id)).occurrences === 12);
    expect(await h.exceptionsFor("SKU-RACE")).toHaveLength(1);
    expect(
      h.fake.callsTo("chat.postMessage").filter((c) => String(c.body.text).includes("SKU-RACE")),
    ).toHaveLength(1);
    expect(await auditOf(h, row!.id, "opened")).toHaveLength(1);
    expect(await auditOf(h, row!.id, "occurrence_added")).toHaveLength(11);
  });

  it("reopens a fingerprint that repeats after resolution: new row, new card, audit says reopened", async () => {
    const event = failureEvent({ sku: "SKU-REOPEN" });
    await h.report(event);
    const [first] = await posted(h, "SKU-REOPEN");
    const res = await submitResolve(h, USERS.alice, first!.id, { note: "Fixed the mapping" });
    expect(res.status).toBe(200);
    await eventually(async () => (await h.exception(first!.id)).state === "resolved");

    await h.report({
      ...event,
      eventId: `${event.eventId}-again`,
      occurredAt: "2026-11-27T10:00:00Z",
    });
    const rows = await posted(h, "SKU-REOPEN", 2);
    const [old, reopened] = rows;
    expect(old!.state).toBe("resolved");
    expect(reopened).toMatchObject({ state: "open", reopenOf: first!.id, occurrences: 1 });
    expect(reopened!.cardTs).not.toBe(old!.cardTs);
    const audit = await auditOf(h, reopened!.id, "reopened");
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ stateBefore: "resolved", stateAfter: "open" });
    expect(textOf(await cardOf(h, reopened!.id))).toContain(
      `Reopened: EX-${first!.id} had been resolved`,
    );
    const oldCard = await eventually(async () => {
      const text = textOf(await cardOf(h, first!.id));
      return text.includes("*Resolved*") ? text : null;
    });
    expect(oldCard).toContain("*Resolved* by <@U0ALICE>");
    expect(oldCard).toContain("Fixed the mapping");
  });
});

describe("events that break the contract", () => {
  it("stores an invalid event with its problems and posts a readable card to the default channel", async () => {
    const bad = {
      ...failureEvent({ sku: "SKU-BAD" }),
      eventId: "evt-bad-1",
      failureMode: "exploded",
      attempts: -2,
      occurredAt: "yesterday",
      links: [{ label: "x", url: "javascript:alert(1)" }],
    };
    await h.reportRaw(bad, "bad-1");
    const row = await rejected("bad-1");
    expect(row.eventId).toBe("evt-bad-1");
    expect(row.channel).toBe("C0FULFILL");
    expect(JSON.parse(row.rawText)).toEqual(bad);
    const paths = [...new Set(row.errors.map((p) => p.path))].sort();
    expect(paths).toEqual(["attempts", "failureMode", "links.0.url", "occurredAt"]);
    const text = textOf(rejectedCard(row));
    expect(text).toContain("*1 event rejected* from `erp.netsuite`");
    expect(text).toContain("evt-bad-1");
    for (const path of paths) expect(text).toContain(`\`${path}\``);
    expect(text).toContain("must be an http or https URL");
    expect(await h.exceptionsFor("SKU-BAD")).toEqual([]);
    const [audit] = await db()
      .select()
      .from(auditLog)
      .where(eq(auditLog.rejectedEventId, row.id))
      .orderBy(asc(auditLog.id));
    expect(audit).toMatchObject({ action: "event_rejected", actor: "system", source: "intake" });

    // The worker kept going.
    await h.report(failureEvent({ sku: "SKU-AFTER-BAD" }));
    await posted(h, "SKU-AFTER-BAD");
  });

  it("names each missing field", async () => {
    await h.reportRaw({ eventId: "evt-empty" }, "bad-missing");
    const row = await rejected("bad-missing");
    const paths = row.errors.map((p) => p.path).sort();
    expect(paths).toEqual(
      [
        "attempts",
        "client",
        "error",
        "failureMode",
        "occurredAt",
        "sku",
        "sourceSystem",
        "targetSystem",
      ].sort(),
    );
    expect(textOf(rejectedCard(row))).toContain("`sku`");
  });

  it.each([
    ["a string", "just some text"],
    ["an array", [1, 2, 3]],
    ["null", null],
    ["a number", 42],
  ])("rejects job data that is %s instead of crashing", async (_what, data) => {
    const jobId = `garbage-${Math.random().toString(36).slice(2)}`;
    await h.reportRaw(data, jobId);
    const row = await rejected(jobId);
    expect(row.eventId).toBeNull();
    expect(row.errors[0]?.path).toBe("(event)");
    expect(textOf(rejectedCard(row))).toContain("from `unknown producer`");
  });

  it("rejects an event carrying a NUL character, even in its eventId", async () => {
    await h.reportRaw(failureEvent({ eventId: "evt-nul\u0000-1", sku: "SKU-NUL" }), "bad-nul");
    const row = await rejected("bad-nul");
    expect(row.errors.map((p) => p.message).join(" ")).toContain("NUL");
    expect(row.eventId).toContain("evt-nul");
  });

  it("keeps an event whose text was cut mid-emoji (a lone surrogate) instead of losing it", async () => {
    await h.reportRaw(
      failureEvent({ sku: "SKU-SURROGATE", error: { message: "cut \ud83d" } }),
      "cut-surrogate",
    );
    const [row] = await posted(h, "SKU-SURROGATE");
    expect(textOf(await cardOf(h, row!.id))).toContain("cut \ufffd");
  });

  it("accepts an error message that merely quotes a \\u0000 escape", async () => {
    await h.report(
      failureEvent({ sku: "SKU-QUOTED-NUL", error: { message: 'payload had "\\u0000" in it' } }),
    );
    const [row] = await posted(h, "SKU-QUOTED-NUL");
    expect(textOf(await cardOf(h, row!.id))).toContain("\\u0000");
  });

  it("keeps a new bad event whose job id was used before (the id counter restarted)", async () => {
    await h.reportRaw({ eventId: "evt-reuse-1" }, "reused-id");
    const first = await rejected("reused-id");
    // Redis flushed or the queue obliterated: BullMQ hands out the same ids again.
    await (await h.bot.deps.queues.failures.getJob("reused-id"))?.remove();
    await h.reportRaw({ eventId: "evt-reuse-2", sku: 7 }, "reused-id");
    const second = await eventually(async () => {
      const [row] = await db()
        .select()
        .from(rejectedEvents)
        .where(eq(rejectedEvents.eventId, "evt-reuse-2"));
      return row ?? null;
    });
    expect(second.id).not.toBe(first.id);
    expect(second.groupId).not.toBeNull();

    // The same job delivered again is still one rejection.
    await (await h.bot.deps.queues.failures.getJob("reused-id"))?.remove();
    await h.reportRaw({ eventId: "evt-reuse-2", sku: 7 }, "reused-id");
    const job = await eventually(() => h.bot.deps.queues.failures.getJob("reused-id"));
    await eventually(async () => (await job.getState()) === "completed");
    const copies = await db()
      .select()
      .from(rejectedEvents)
      .where(eq(rejectedEvents.eventId, "evt-reuse-2"));
    expect(copies).toHaveLength(1);
  });

  it("lets a member mark a rejected event's group reviewed, once, and refuses outsiders", async () => {
    await h.reportRaw({ eventId: "evt-review", sourceSystem: "review-src" }, "bad-review");
    const row = await rejected("bad-review");
    const press = (userId: string) => {
      const responseId = Math.random().toString(36).slice(2);
      return h.slack
        .blockAction({
          userId,
          channelId: row.cardChannel!,
          messageTs: row.cardTs!,
          actionId: "rejections.review",
          value: String(row.groupId),
          responseUrl: h.fake.responseUrl(responseId),
        })
        .then((res) => ({ ...res, responseId }));
    };
    const outsider = await press(USERS.eve);
    expect(outsider.status).toBe(200);
    expect(await replyTo(h, outsider)).toContain("Only members of *fulfillment-ops*");
    expect((await rejectionsFor("bad-review"))[0]?.reviewedBy).toBeNull();

    await press(USERS.bob);
    await eventually(async () => (await rejectionsFor("bad-review"))[0]?.reviewedBy === USERS.bob);
    await eventually(async () => textOf(rejectedCard(row)).includes("Reviewed by <@U0BOB>"));
    expect(JSON.stringify(rejectedCard(row).blocks)).not.toContain("rejections.review");
    const [review] = await db()
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, "rejections_reviewed"));
    expect(review).toMatchObject({ actor: USERS.bob, rejectedEventId: row.id });
    expect(review?.expectedOutcome).toContain("review-src fixes what it sends");

    const again = await press(USERS.alice);
    expect(await replyTo(h, again)).toContain("already reviewed");
    expect((await rejectionsFor("bad-review"))[0]?.reviewedBy).toBe(USERS.bob);
  });
});
