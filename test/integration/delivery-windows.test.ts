/**
 * The windows of `/inventory pipelines` (1h, 24h, 7d, 30d) read minute, hour and day rows: a
 * delivery counts in every window that holds its delivery time and in none other, and the
 * time-to-sync P50/P95 of each window, merged across the three, stays within 1% of the exact
 * answer. Retention then removes the rows past their time and keeps the rest.
 */
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { PIPELINE_WINDOWS, pipelineReports } from "../../src/deliveries/pipelines.service.js";
import { reportDeliveries } from "../../src/outcomes/outcome-event.schema.js";
import { enqueueRetentionJob } from "../../src/retention/retention-jobs.schema.js";
import { eventually } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

const ROUTING = fileURLToPath(new URL("../fixtures/routing.deliveries.yml", import.meta.url));
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const h = useHarness({
  routingFile: ROUTING,
  env: { DELIVERY_FLUSH_MS: "200", RETENTION_DELIVERIES: "35d" },
});

/** Deliveries this long ago, 40 each, with times-to-sync spread over 1 s .. 200 s. */
const AGES = [10 * MINUTE, 3 * HOUR, 3 * DAY + 5 * HOUR, 20 * DAY, 40 * DAY];
const PER_AGE = 40;

function nearestRank(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;
}

const count = async (table: string, where = sql`true`) => {
  const [row] = await h.bot.deps.db.execute<{ n: string }>(
    sql`select count(*) as n from ${sql.raw(table)} where ${where}`,
  );
  return Number(row?.n ?? 0);
};

describe("delivery windows over minute, hour and day rows", () => {
  const now = Date.now();
  const sent = AGES.flatMap((age, a) =>
    Array.from({ length: PER_AGE }, (_, i) => {
      const occurredAt = now - age;
      const ttsMs = 1000 + ((i * 7919 + a * 104_729) % 199_000);
      return {
        kind: "sync.succeeded" as const,
        eventId: `window-${a}-${i}`,
        client: "globex",
        sku: `G-${a}-${i}`,
        targetSystem: "crm.hubspot",
        triggeredAt: new Date(occurredAt - ttsMs).toISOString(),
        occurredAt: new Date(occurredAt).toISOString(),
        age,
        ttsMs,
      };
    }),
  );

  it("counts each delivery in the windows that hold it, with P50/P95 within 1% of exact", async () => {
    await reportDeliveries(
      h.producerQueue(h.env.OUTCOME_QUEUE),
      sent.map(({ age: _age, ttsMs: _tts, ...event }) => event),
    );
    await eventually(async () => (await count("delivery_seen")) === sent.length, 15_000);

    for (const window of PIPELINE_WINDOWS) {
      const reports = await pipelineReports(h.bot.deps, { windowMs: window.ms });
      const globex = reports.find((r) => r.name === "globex-feeds");
      const inside = sent.filter((d) => d.age <= window.ms).map((d) => d.ttsMs);
      expect(globex?.figures.deliveries, window.label).toBe(inside.length);
      for (const q of [0.5, 0.95] as const) {
        const exact = nearestRank(inside, q);
        const merged = (q === 0.5 ? globex?.figures.p50Ms : globex?.figures.p95Ms) as number;
        expect(Math.abs(merged - exact) / exact, `${window.label} P${q * 100}`).toBeLessThan(0.01);
      }
      expect(globex?.figures.maxMs, window.label).toBe(Math.max(...inside));
    }
    // The last delivery is the freshest one.
    const globex = (await pipelineReports(h.bot.deps, { windowMs: HOUR })).find(
      (r) => r.name === "globex-feeds",
    );
    expect(globex?.figures.lastDeliveredAt?.getTime()).toBe(now - 10 * MINUTE);
  });

  it("retention drops minute rows after 2 days, hour and day rows after RETENTION_DELIVERIES", async () => {
    const buckets = (ages: number[], size: number) =>
      new Set(ages.map((age) => Math.floor((now - age) / size))).size;
    const kept = AGES.filter((age) => age < 35 * DAY);
    await enqueueRetentionJob(h.bot.deps.queues, "retention.prune", {});
    // The worker's scheduled run may have pruned already; either way, this is where it ends.
    await eventually(
      async () =>
        (await count("delivery_days", sql`day < now() - interval '35 days'`)) === 0 &&
        (await count("delivery_hours", sql`hour < now() - interval '35 days'`)) === 0 &&
        (await count("delivery_minutes", sql`minute < now() - interval '2 days'`)) === 0,
      15_000,
    );
    expect(await count("delivery_minutes")).toBe(2);
    expect(await count("delivery_hours")).toBe(buckets(kept, HOUR));
    expect(await count("delivery_days")).toBe(buckets(kept, DAY));
    // EventIds are remembered by when they arrived (just now): all kept, so a redelivery of any
    // of them still counts once.
    expect(await count("delivery_seen")).toBe(sent.length);
    const reports = await pipelineReports(h.bot.deps, { windowMs: 30 * DAY });
    expect(reports.find((r) => r.name === "globex-feeds")?.figures.deliveries).toBe(4 * PER_AGE);
  });
});
