/**
 * Intake in batches (src/intake/intake-batch.ts): many failure events in one transaction must
 * end exactly where one-at-a-time intake would: repeats folded per fingerprint in order, each
 * eventId counted once (in the batch, before it, or stored by another delivery meanwhile), a
 * bad event rejected alone, one card per exception, and a burst through the real queue
 * accounted for to the last event.
 */
import { asc, eq, inArray } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDeliveryDesk } from "../../src/deliveries/deliveries.job.js";
import { ingestFailures } from "../../src/intake/intake-batch.js";
import {
  auditLog,
  exceptions,
  failureEvents,
  rejectedEvents,
} from "../../src/platform/db/schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import { cardOf, posted, textOf } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

// The full bot (worker and outbox relay), so cards are posted; not about storms.
const h = useHarness({ env: { STORM_THRESHOLD: "1000" } });
const db = () => h.bot.deps.db;

/** Reads and writes through a connection of its own: another process. */
let outside: postgres.Sql;
beforeAll(() => {
  outside = postgres(h.databaseUrl, { max: 2, onnotice: () => {} });
});
afterAll(async () => {
  await outside?.end();
});

const at = (minute: number) => new Date(Date.UTC(2026, 10, 26, 9, minute)).toISOString();

async function auditActions(exceptionId: number) {
  const rows = await db()
    .select({ action: auditLog.action, details: auditLog.details })
    .from(auditLog)
    .where(eq(auditLog.exceptionId, exceptionId))
    .orderBy(asc(auditLog.id));
  return rows;
}

describe("a batch of failure events", () => {
  it("folds repeats per fingerprint, counts each eventId once and rejects a bad event alone", async () => {
    const a = failureEvent({ sku: "SKU-BATCH-A", occurredAt: at(5), error: { message: "a1" } });
    const b = failureEvent({ sku: "SKU-BATCH-B", occurredAt: at(1) });
    const jobs = [
      { id: "batch-1", data: a },
      { id: "batch-2", data: b },
      // Later in the batch, earlier in time: widens first seen, does not replace the latest.
      { id: "batch-3", data: { ...a, eventId: `${a.eventId}-2`, occurredAt: at(2) } },
      {
        id: "batch-4",
        data: { ...a, eventId: `${a.eventId}-3`, occurredAt: at(9), error: { message: "a3" } },
      },
      // The same event again under another job id: a duplicate of the first.
      { id: "batch-5", data: a },
      { id: "batch-6", data: { ...b, sku: undefined } },
      { id: "batch-7", data: { ...b, eventId: `${b.eventId}-2`, occurredAt: at(3) } },
    ];
    const outcomes = await ingestFailures(h.bot.deps, jobs);
    const kinds = outcomes.map((outcome) => (outcome.ok ? outcome.value.kind : "failed"));
    expect(kinds).toEqual([
      "opened",
      "opened",
      "occurrence",
      "occurrence",
      "duplicate",
      "rejected",
      "occurrence",
    ]);

    const [rowA] = await h.exceptionsFor("SKU-BATCH-A");
    const [rowB] = await h.exceptionsFor("SKU-BATCH-B");
    expect(await h.exceptionsFor("SKU-BATCH-A")).toHaveLength(1);
    expect(rowA).toMatchObject({ occurrences: 3, state: "open" });
    expect(rowA!.firstSeenAt.toISOString()).toBe(at(2));
    expect(rowA!.lastSeenAt.toISOString()).toBe(at(9));
    expect((rowA!.latestEvent as { error: { message: string } }).error.message).toBe("a3");
    expect((rowA!.firstEvent as { eventId: string }).eventId).toBe(a.eventId);
    expect(rowB).toMatchObject({ occurrences: 2 });
    for (const outcome of outcomes.slice(0, 5)) {
      expect(outcome.ok && outcome.value.kind !== "rejected" && outcome.value.exceptionId).toBe(
        outcome === outcomes[1] ? rowB!.id : rowA!.id,
      );
    }

    // Every audit row of one-at-a-time intake, in the batch's order of arrival.
    const audit = await auditActions(rowA!.id);
    expect(audit.map((entry) => entry.action)).toEqual([
      "opened",
      "occurrence_added",
      "occurrence_added",
    ]);
    expect(audit.map((entry) => (entry.details as { eventId: string }).eventId)).toEqual([
      a.eventId,
      `${a.eventId}-2`,
      `${a.eventId}-3`,
    ]);
    const stored = await db()
      .select({ eventId: failureEvents.eventId })
      .from(failureEvents)
      .where(inArray(failureEvents.exceptionId, [rowA!.id, rowB!.id]));
    expect(stored).toHaveLength(5);
    const [rejected] = await db()
      .select()
      .from(rejectedEvents)
      .where(eq(rejectedEvents.sourceJobId, "batch-6"));
    expect(rejected?.errors).toEqual([expect.objectContaining({ path: "sku" })]);

    // One card each, showing the batch's count.
    await posted(h, "SKU-BATCH-A");
    await posted(h, "SKU-BATCH-B");
    await eventually(
      async () => textOf(await cardOf(h, rowA!.id)).includes("*Occurrences*\n3"),
      10_000,
      "the card to show 3 occurrences",
    );
    expect(
      h.fake.callsTo("chat.postMessage").filter((c) => String(c.body.text).includes("SKU-BATCH-A")),
    ).toHaveLength(1);

    // The same batch delivered again changes nothing.
    const again = await ingestFailures(h.bot.deps, jobs);
    expect(again.map((outcome) => (outcome.ok ? outcome.value.kind : "failed"))).toEqual([
      "duplicate",
      "duplicate",
      "duplicate",
      "duplicate",
      "duplicate",
      "rejected",
      "duplicate",
    ]);
    expect((await h.exception(rowA!.id)).occurrences).toBe(3);
  });

  it("takes an event stored by another delivery meanwhile as a duplicate, and the rest as usual", async () => {
    const first = failureEvent({ sku: "SKU-BATCH-RACE" });
    const [opened] = await ingestFailures(h.bot.deps, [{ id: "race-0", data: first }]);
    if (!opened?.ok || opened.value.kind !== "opened") throw new Error("expected opened");
    const racing = failureEvent({ sku: "SKU-BATCH-RACE" });
    const other = failureEvent({ sku: "SKU-BATCH-OTHER" });
    // Another delivery of `racing` is storing it, uncommitted, when the batch reads and inserts.
    const reserved = outside.reserve();
    const holder = await reserved;
    await holder`begin`;
    await holder`insert into failure_events (event_id, exception_id, occurred_at, payload)
      values (${racing.eventId}, ${opened.value.exceptionId}, ${racing.occurredAt}, ${holder.json(racing as never)})`;
    const batch = ingestFailures(h.bot.deps, [
      { id: "race-1", data: racing },
      { id: "race-2", data: other },
    ]);
    // The batch waits on the other delivery's key; once that commits, the batch is redone.
    await eventually(async () => {
      const [row] = await outside<{ n: number }[]>`
        select count(*)::int as n from pg_locks
        where not granted
          and pid in (select pid from pg_stat_activity where datname = current_database())`;
      return (row?.n ?? 0) > 0;
    });
    await holder`commit`;
    holder.release();
    const outcomes = await batch;
    expect(outcomes.map((outcome) => (outcome.ok ? outcome.value.kind : "failed"))).toEqual([
      "duplicate",
      "opened",
    ]);
    // Counted once: by the delivery that stored it (which this test played, without the +1).
    expect((await h.exception(opened.value.exceptionId)).occurrences).toBe(1);
    expect(await h.exceptionsFor("SKU-BATCH-OTHER")).toHaveLength(1);
  });
});

describe("a burst through the failures queue", () => {
  it("accounts for every event with one exception per fingerprint and one card each", async () => {
    const prints = Array.from({ length: 20 }, (_, i) =>
      failureEvent({ sku: `SKU-BURST-${i}`, client: `burst-${i % 4}` }),
    );
    const events = Array.from({ length: 200 }, (_, i) => {
      const base = prints[i % prints.length]!;
      return { ...base, eventId: `${base.eventId}-${i}` };
    });
    await h.bot.deps.queues.failures.addBulk(
      events.map((data, i) => ({ name: "sync.failed", data, opts: { jobId: `burst-${i}` } })),
    );
    await eventually(
      async () => {
        const [row] = await outside<{ n: number }[]>`
          select count(*)::int as n from failure_events
          where exception_id in (select id from exceptions where sku like 'SKU-BURST-%')`;
        return row?.n === events.length;
      },
      30_000,
      "every event of the burst to be stored",
    );
    const rows = await db()
      .select({ sku: exceptions.sku, occurrences: exceptions.occurrences })
      .from(exceptions)
      .where(
        inArray(
          exceptions.sku,
          prints.map((p) => p.sku),
        ),
      );
    expect(rows).toHaveLength(prints.length);
    expect(rows.every((row) => row.occurrences === 10)).toBe(true);
    for (const print of prints) await posted(h, print.sku);
    for (const print of prints) {
      const sku = new RegExp(`${print.sku}(?!\\d)`);
      expect(
        h.fake.callsTo("chat.postMessage").filter((c) => sku.test(String(c.body.text))),
      ).toHaveLength(1);
    }
  });
});

describe("the failed-delivery count of a batch", () => {
  const failuresOf = async (client: string) => {
    const [row] = await outside<{ n: number }[]>`
      select coalesce(sum(failures), 0)::int as n from delivery_minutes where client = ${client}`;
    return row?.n ?? 0;
  };

  it("commits with the batch's rows, once per eventId, and a count that fails leaves intake standing", async () => {
    const desk = startDeliveryDesk(h.bot.deps, { flushMs: 60_000 });
    try {
      const print = failureEvent({ sku: "SKU-COUNT", client: "count-co" });
      const again = { ...print, eventId: `${print.eventId}-2` };
      const done = new Set<string>();
      const options = { inTransaction: desk.failuresSeenIn, done };
      const outcomes = await ingestFailures(
        h.bot.deps,
        [
          { id: "count-1", data: print },
          { id: "count-2", data: again },
          { id: "count-3", data: print },
        ],
        options,
      );
      expect(outcomes.map((o) => (o.ok ? o.value.kind : "failed"))).toEqual([
        "opened",
        "occurrence",
        "duplicate",
      ]);
      expect([...done].sort()).toEqual([print.eventId, again.eventId].sort());
      expect(await failuresOf("count-co")).toBe(2);

      // Not a blip (a figure table gone): rolled back to its savepoint, logged; intake commits.
      await outside`alter table delivery_days rename to delivery_days_away`;
      try {
        const broken = failureEvent({ sku: "SKU-COUNT-BROKEN", client: "count-co" });
        const [taken] = await ingestFailures(
          h.bot.deps,
          [{ id: "count-broken", data: broken }],
          options,
        );
        expect(taken?.ok && taken.value.kind).toBe("opened");
        const stored = await db()
          .select({ eventId: failureEvents.eventId })
          .from(failureEvents)
          .where(eq(failureEvents.eventId, broken.eventId));
        expect(stored).toHaveLength(1);
        expect(await failuresOf("count-co")).toBe(2);
      } finally {
        await outside`alter table delivery_days_away rename to delivery_days`;
      }
    } finally {
      await desk.close();
    }
  });
});
