/**
 * The delivery write-ahead log (a Redis stream) between delivery jobs and the figures: a job
 * completes once its records are staged, long before the flush; a flush counts each entry
 * once, also with two flushers on one log and after a flusher killed between its commit and
 * its follow-ups; staging holds jobs while the log is over its cap; a flush that fails loses
 * nothing. Deliveries here have no eventId, so the eventId dedupe cannot hide a double count.
 */
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type DeliveryDesk, startDeliveryDesk } from "../../src/deliveries/deliveries.job.js";
import type { DeliveryRecord } from "../../src/deliveries/delivery.js";
import { openDeliveryWal } from "../../src/deliveries/wal.js";
import { commitWalFlush } from "../../src/deliveries/wal-flush.repo.js";
import { rejectionTargetOf } from "../../src/intake/rejection-groups.js";
import { eventually } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

const ROUTING = fileURLToPath(new URL("../fixtures/routing.deliveries.yml", import.meta.url));

// The web role alone: no worker flushes behind the tests' backs; each test starts its desks.
const h = useHarness({
  roles: ["web"],
  routingFile: ROUTING,
  env: { DELIVERY_FLUSH_MS: "5000" },
});

let sku = 0;
function success(overrides: Record<string, unknown> = {}) {
  sku += 1;
  const occurredAt = Date.now() - 1000;
  return {
    kind: "sync.succeeded",
    client: "acme",
    sku: `WAL-${sku}`,
    sourceSystem: "erp.netsuite",
    targetSystem: "storefront.shopify",
    triggeredAt: new Date(occurredAt - 500).toISOString(),
    occurredAt: new Date(occurredAt).toISOString(),
    ...overrides,
  };
}
const batch = (n: number) => ({
  kind: "sync.batch",
  events: Array.from({ length: n }, () => success()),
});

async function counted(): Promise<number> {
  const [row] = await h.bot.deps.db.execute<{ n: string | null }>(
    sql`select sum(deliveries) as n from delivery_minutes`,
  );
  return Number(row?.n ?? 0);
}
const wal = () => openDeliveryWal(h.bot.deps.queues.connection, h.bot.deps.queues.prefix);

/** Desks on the harness's database and Redis prefix, closed at the end of `body`. */
async function withDesks(
  settings: Parameters<typeof startDeliveryDesk>[1][],
  body: (...desks: DeliveryDesk[]) => Promise<void>,
) {
  const desks = settings.map((s) => startDeliveryDesk(h.bot.deps, s));
  try {
    await body(...desks);
  } finally {
    for (const desk of desks) await desk.close();
  }
}

let job = 0;
const handle = (desk: DeliveryDesk, data: unknown) => {
  job += 1;
  return desk.handleOutcomeJob({ id: `wal-${job}`, data });
};

describe("the delivery WAL", () => {
  it("completes a job through the real worker in well under a second with a 5 s flush, then counts it", async () => {
    const worker = await h.startAnother(["worker"]);
    try {
      const queue = h.producerQueue(h.env.OUTCOME_QUEUE);
      const before = await counted();
      const started = Date.now();
      const added = await queue.add("sync.succeeded", success());
      await eventually(async () => (await added.getState()) === "completed", 5000, "completed");
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await counted()).toBe(before);
      await eventually(async () => (await counted()) === before + 1, 15_000, "counted");
    } finally {
      await worker.stop();
    }
  });

  it("counts what was staged once: a second flush finds nothing, and the log is emptied", async () => {
    await withDesks([{ flushMs: 60_000 }], async (desk) => {
      const before = await counted();
      await handle(desk, batch(30));
      await handle(desk, success());
      expect(await wal().backlog()).toBe(31);
      expect(await counted()).toBe(before);
      expect(await desk.flush()).toBe("flushed");
      expect(await counted()).toBe(before + 31);
      expect(await desk.flush()).toBe("idle");
      expect(await counted()).toBe(before + 31);
      expect(await wal().length()).toBe(0);
      expect(await wal().backlog()).toBe(0);
    });
  });

  it("a flusher killed after its commit: the next flush follows up once and counts nothing twice", async () => {
    const followed: DeliveryRecord[] = [];
    const afterFlush = async (records: readonly DeliveryRecord[]) => {
      followed.push(...records);
    };
    await withDesks([{ flushMs: 60_000, afterFlush }], async (desk) => {
      const before = await counted();
      await handle(desk, batch(20));
      const options = {
        receivedAt: Date.now(),
        rejectionTarget: rejectionTargetOf(h.bot.deps.routing.current().config),
        maxRecords: 1000,
      };
      // The commit part of a flush by a process that then dies: counted, never followed up.
      const commit = await commitWalFlush(h.bot.deps.db, wal(), {
        ...options,
        owner: "a-worker-that-died",
        leaseMs: 60_000,
      });
      expect(commit.kind).toBe("counted");
      expect(await counted()).toBe(before + 20);
      // While its lease runs, it may still be following up: left alone.
      expect(await desk.flush()).toBe("busy");
      expect(followed).toHaveLength(0);
      await h.bot.deps.db.execute(sql`update delivery_wal_marks set follow_up_until = now()`);
      await handle(desk, batch(5));
      expect(await desk.flush()).toBe("flushed");
      expect(followed).toHaveLength(25);
      expect(new Set(followed.map((r) => (r.kind === "delivered" ? r.sku : ""))).size).toBe(25);
      expect(await counted()).toBe(before + 25);
      expect(await desk.flush()).toBe("idle");
      expect(followed).toHaveLength(25);
      expect(await wal().length()).toBe(0);
    });
  });

  it("two desks staging and flushing one log never count an entry twice", async () => {
    await withDesks([{ flushMs: 30 }, { flushMs: 30 }], async (a, b) => {
      const before = await counted();
      const jobs: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        jobs.push(handle(i % 2 ? a : b, batch(25)), handle(i % 2 ? b : a, success()));
        // Flushes racing each other and the timers, while staging goes on.
        jobs.push(a.flush(), b.flush());
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await Promise.all(jobs);
      const total = 40 * 26;
      await eventually(async () => (await wal().length()) === 0, 10_000, "the log emptied");
      expect(await counted()).toBe(before + total);
    });
  });

  it("holds jobs while the log is over its cap, and lets them go once a flush catches up", async () => {
    await withDesks([{ flushMs: 60_000, maxBacklog: 100 }], async (desk) => {
      await handle(desk, batch(150));
      let done = false;
      const held = handle(desk, success()).then(() => {
        done = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(done).toBe(false);
      expect(await wal().backlog()).toBe(150);
      expect(await desk.flush()).toBe("flushed");
      await held;
      expect(await wal().backlog()).toBe(1);
    });
  });

  it("a flush that fails loses nothing: the entries wait and the next flush counts them once", async () => {
    await withDesks([{ flushMs: 60_000 }], async (desk) => {
      const before = await counted();
      await handle(desk, batch(12));
      const db = h.bot.deps.db;
      await db.execute(sql`alter table delivery_hours rename to delivery_hours_away`);
      try {
        await expect(desk.flush()).rejects.toThrow();
      } finally {
        await db.execute(sql`alter table delivery_hours_away rename to delivery_hours`);
      }
      expect(await counted()).toBe(before);
      expect(await wal().backlog()).toBe(12);
      expect(await desk.flush()).toBe("flushed");
      expect(await counted()).toBe(before + 12);
    });
  });

  it("follow-ups that keep failing are given up once old enough: the figures stand and counting goes on", async () => {
    const afterFlush = async () => {
      throw new Error("a follow-up that always fails");
    };
    const before = await counted();
    await withDesks(
      [{ flushMs: 60_000, afterFlush, followUpGiveUpMs: 60_000, followUpLeaseMs: 0 }],
      async (desk) => {
        await handle(desk, batch(7));
        // Young entries wait for the next try: counted once, kept in the log.
        await expect(desk.flush()).rejects.toThrow("always fails");
        expect(await counted()).toBe(before + 7);
        expect(await wal().backlog()).toBe(7);
        await expect(desk.flush()).rejects.toThrow("always fails");
        expect(await counted()).toBe(before + 7);
      },
    );
    await withDesks(
      [{ flushMs: 60_000, afterFlush, followUpGiveUpMs: 0, followUpLeaseMs: 0 }],
      async (desk) => {
        await handle(desk, batch(3));
        // Old enough: they leave the log (the failure is still reported), and new ones count.
        await expect(desk.flush()).rejects.toThrow("always fails");
        expect(await counted()).toBe(before + 10);
        expect(await wal().backlog()).toBe(0);
      },
    );
  });
});
