/**
 * A worker killed with SIGKILL in the middle of a stream of deliveries, with jobs completed
 * whose records wait in the delivery WAL (staged, not yet flushed) and jobs still active: the
 * next worker flushes the WAL, BullMQ runs the stalled jobs again, and every delivery is
 * counted once, in the minute rows, the hour rows and the time-to-sync sketches.
 */
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { afterEach, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import { type Stage, startStage } from "./support.js";

const ROUTING = fileURLToPath(new URL("../fixtures/routing.deliveries.yml", import.meta.url));

let stage: Stage | undefined;
let outcomes: Queue | undefined;
afterEach(async () => {
  await outcomes?.close();
  outcomes = undefined;
  await stage?.close();
  stage = undefined;
});

const SINGLES = 3000;
const BATCHES = 20;
const PER_BATCH = 100;
const TOTAL = SINGLES + BATCHES * PER_BATCH;

function delivery(i: number) {
  const occurredAt = Date.now() - 1000;
  return {
    kind: "sync.succeeded",
    eventId: `crash-${i}`,
    client: "acme",
    sku: `ACME-${i % 250}`,
    sourceSystem: "erp.netsuite",
    targetSystem: "storefront.shopify",
    triggeredAt: new Date(occurredAt - 1000 - (i % 97) * 100).toISOString(),
    occurredAt: new Date(occurredAt).toISOString(),
  };
}

async function counted(s: Stage) {
  const [row] = await s.sql<{ minutes: number; hours: number; timed: number; seen: number }[]>`
    select
      (select coalesce(sum(deliveries), 0)::int from delivery_minutes) as minutes,
      (select coalesce(sum(deliveries), 0)::int from delivery_hours) as hours,
      (select coalesce(sum(timed), 0)::int from delivery_minutes) as timed,
      (select count(*)::int from delivery_seen where outcome = 'd') as seen`;
  return row ?? { minutes: 0, hours: 0, timed: 0, seen: 0 };
}

it("SIGKILL mid-stream of deliveries: every delivery counted once after a restart", {
  timeout: 120_000,
}, async () => {
  stage = await startStage({
    ROUTING_FILE: ROUTING,
    // Flush once a second and hold many jobs: plenty of deliveries staged and in memory when it dies.
    DELIVERY_FLUSH_MS: "1000",
    OUTCOME_CONCURRENCY: "500",
  });
  const s = stage;
  outcomes = new Queue("inventory-sync-outcomes", { connection: s.redis, prefix: s.prefix });
  const first = await s.start("worker");
  await outcomes.addBulk([
    ...Array.from({ length: SINGLES }, (_, i) => ({
      name: "sync.succeeded",
      data: delivery(i),
      opts: { removeOnComplete: false },
    })),
    ...Array.from({ length: BATCHES }, (_, b) => ({
      name: "sync.batch",
      data: {
        kind: "sync.batch",
        events: Array.from({ length: PER_BATCH }, (_, j) => delivery(SINGLES + b * PER_BATCH + j)),
      },
      opts: { removeOnComplete: false },
    })),
  ]);
  const queue = outcomes;
  const wal = `${s.prefix}:deliveries:wal`;
  // Jobs completed (their records staged) and not all of them counted yet.
  await eventually(
    async () =>
      (await queue.getJobCountByTypes("completed")) >= 500 && (await s.redis.xlen(wal)) > 0,
    60_000,
    "part of the stream staged",
  );
  first.child.kill("SIGKILL");
  expect((await first.exited).signal).toBe("SIGKILL");
  const before = await counted(s);
  expect(before.minutes).toBeLessThan(TOTAL);

  await s.start("worker");
  await eventually(
    async () => (await queue.getJobCountByTypes("completed")) === SINGLES + BATCHES,
    90_000,
    "every outcome job completed",
  );
  // Jobs complete once staged; the counts follow within a flush or two.
  await eventually(async () => (await counted(s)).minutes >= TOTAL, 30_000, "all counted");
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(await s.redis.xlen(wal)).toBe(0);
  const after = await counted(s);
  expect(after).toEqual({ minutes: TOTAL, hours: TOTAL, timed: TOTAL, seen: TOTAL });
  const [sketch] = await s.sql<{ n: number }[]>`
    select coalesce(sum(e.value::bigint), 0)::int as n
    from delivery_minutes m, jsonb_each_text(m.sketch) e`;
  expect(sketch?.n).toBe(TOTAL);
  expect(await queue.getJobCountByTypes("failed")).toBe(0);
});
