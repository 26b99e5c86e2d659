/**
 * Deltas become exceptions: a run's mismatched and missing SKUs open drift exceptions through
 * intake (routed, stormed: many deltas make one storm card), and the next run that finds a SKU
 * matched resolves it as recovered with a note in its thread.
 */
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { publishSnapshot } from "../../src/platform/contracts/snapshot-part.schema.js";
import { pruneRetention } from "../../src/retention/retention.job.js";
import { reconRules } from "../../src/retention/retention-rules.js";
import { eventually, failureEvent } from "../support/harness.js";
import {
  buttonsOf,
  cardOf,
  click,
  DESK,
  posted,
  replyTo,
  textOf,
  threadOf,
} from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const ROUTING = fileURLToPath(new URL("../fixtures/routing.recon.yml", import.meta.url));
const h = useHarness({ ...DESK, routingFile: ROUTING, env: { STORM_THRESHOLD: "5" } });
const queue = () => h.producerQueue(h.env.SNAPSHOT_QUEUE);

async function pair(
  n: number,
  source: { sku: string; quantity: number }[],
  consumer: typeof source,
) {
  const takenAt = new Date(Date.UTC(2026, 11, 4 + n, 2)).toISOString();
  await publishSnapshot(
    queue(),
    { snapshotId: `src-${n}`, client: "globex", system: "wms.shipbob", takenAt },
    source,
  );
  await publishSnapshot(
    queue(),
    { snapshotId: `shop-${n}`, client: "globex", system: "storefront.shopify", takenAt },
    consumer,
  );
  return eventually(
    async () => {
      const [run] = await h.bot.deps.db.execute<{ id: number }>(sql`
      select r.id from recon_runs r join snapshots s on s.key = r.consumer_snapshot_key
      where s.id = ${`shop-${n}`}`);
      return run;
    },
    15_000,
    `run ${n}`,
  );
}

const openDrift = () =>
  h.bot.deps.db.execute<{ id: number; sku: string; state: string; storm_id: number | null }>(sql`
    select id, sku, state, storm_id from exceptions where failure_mode = 'drift' order by sku`);

describe("drift exceptions", () => {
  it("opens one drift exception per mismatched or missing SKU, grouped into one storm", async () => {
    const source = Array.from({ length: 12 }, (_, i) => ({
      sku: `G-${String(i).padStart(2, "0")}`,
      quantity: 10,
    }));
    // 8 mismatched beyond globex's tolerance of 2, 1 within it, 1 missing, 2 matched.
    const consumer = source.flatMap((item, i) =>
      i === 11 ? [] : [{ sku: item.sku, quantity: i < 8 ? 20 : i === 8 ? 12 : 10 }],
    );
    await pair(1, source, consumer);
    const rows = await eventually(
      async () => {
        const found = await openDrift();
        return found.length === 9 ? found : undefined;
      },
      20_000,
      "9 drift exceptions",
    );
    expect(rows.map((r) => r.sku)).toEqual([...source.slice(0, 8).map((s) => s.sku), "G-11"]);
    const storms = await h.bot.deps.db.execute<{ id: number }>(
      sql`select id from storms where client = 'globex' and failure_mode = 'drift'`,
    );
    expect(storms.length).toBe(1);
    // Cards up to the threshold, then the storm card stands for the rest.
    const cards = h.fake.messages("C0STORE").filter((m) => textOf(m as never).includes("drift"));
    expect(cards.length).toBeLessThanOrEqual(6);
    const [g00] = await h.bot.deps.db.execute<{ latest_event: { error: { message: string } } }>(
      sql`select latest_event from exceptions where sku = 'G-00'`,
    );
    expect(g00?.latest_event.error.message).toMatch(
      /^Reconciliation #\d+: storefront.shopify has 20, wms.shipbob \(source of truth\) has 10 \(\+10\)\.$/,
    );
  });

  it("re-publishes a partial write from the source of truth's latest snapshot, for the role only", async () => {
    await h.report(
      failureEvent({
        client: "globex",
        sku: "G-09",
        sourceSystem: "wms.shipbob",
        targetSystem: "storefront.shopify",
        failureMode: "partial_write",
        occurredAt: "2026-12-05T03:00:00Z",
        retry: { queue: "storefront-sync", name: "sync.sku", data: { sku: "G-09" } },
      }),
    );
    const [row] = await posted(h, "G-09");
    const id = row!.id;
    expect(buttonsOf(await cardOf(h, id))).toContain("Re-publish from source of truth");
    const outsider = await click(h, "U0ALICE", id, "republish");
    expect(await replyTo(h, outsider)).toContain(
      "Only members of *storefront-ops* and its managers",
    );
    const member = await click(h, "U0CAROL", id, "republish");
    expect(await replyTo(h, member)).toContain(
      "G-09 re-published from wms.shipbob with quantity 10",
    );
    const jobs = await h.producerQueue("storefront-sync").getJobs(["waiting", "delayed", "active"]);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.name).toBe("sync.sku");
    expect(jobs[0]?.data).toMatchObject({
      sku: "G-09",
      quantity: 10,
      syncdesk: { exceptionId: id, sourceOfTruth: "wms.shipbob", snapshotId: "src-1" },
    });
    // The same figure again: one job.
    await replyTo(h, await click(h, "U0CAROL", id, "republish"));
    expect(await h.producerQueue("storefront-sync").count()).toBe(1);
    await eventually(
      async () =>
        (await threadOf(h, id)).find((note) => note.includes("re-published G-09 from wms.shipbob")),
      10_000,
      "the thread note",
    );
  });

  it("resolves as recovered what the next run finds matched, and keeps what still differs", async () => {
    const source = Array.from({ length: 12 }, (_, i) => ({
      sku: `G-${String(i).padStart(2, "0")}`,
      quantity: 10,
    }));
    // Now only G-00 still differs.
    const consumer = source.map((item, i) => ({ sku: item.sku, quantity: i === 0 ? 30 : 10 }));
    const run = await pair(2, source, consumer);
    await eventually(
      async () => {
        const rows = await openDrift();
        return rows.filter((r) => r.state !== "resolved").length === 1 ? rows : undefined;
      },
      20_000,
      "all but G-00 recovered",
    );
    const [g00] = await h.bot.deps.db.execute<{ state: string; occurrences: number }>(
      sql`select state, occurrences from exceptions where sku = 'G-00' and failure_mode = 'drift'`,
    );
    expect(g00).toMatchObject({ state: "open", occurrences: 2 });
    const [resolved] = await h.bot.deps.db.execute<{ resolution: string; id: number }>(
      sql`select id, resolution from exceptions where sku = 'G-11' and failure_mode = 'drift'`,
    );
    expect(resolved?.resolution).toBe("recovered");
    const [audit] = await h.bot.deps.db.execute<{ details: { reconRunId: number } }>(
      sql`select details from audit_log where exception_id = ${resolved?.id} and action = 'recovered'`,
    );
    expect(audit?.details.reconRunId).toBe(run.id);
    // The re-published partial write matched too: resolved, and its thread says which run.
    const partial = await eventually(
      async () => {
        const [found] = await h.bot.deps.db.execute<{ id: number; resolution: string | null }>(
          sql`select id, resolution from exceptions where sku = 'G-09' and failure_mode = 'partial_write'`,
        );
        return found?.resolution ? found : undefined;
      },
      10_000,
      "the partial write resolved",
    );
    expect(partial.resolution).toBe("recovered");
    await eventually(
      async () =>
        (await threadOf(h, Number(partial?.id))).find((note) =>
          note.includes(`Reconciliation #${run.id} found this SKU matching its source of truth`),
        ),
      10_000,
      "the recovery note",
    );
  });
});

describe("retention of reconciliation", () => {
  const counts = async () => {
    const [row] = await h.bot.deps.db.execute<Record<string, string>>(sql`
      select (select count(*) from recon_runs) as runs, (select count(*) from recon_deltas) as deltas,
             (select count(*) from snapshots) as snapshots, (select count(*) from snapshot_items) as items`);
    return Object.fromEntries(Object.entries(row ?? {}).map(([k, v]) => [k, Number(v)]));
  };

  it("keeps runs and snapshots for RECON_RETENTION, then prunes runs, deltas, items and snapshots", async () => {
    const before = await counts();
    expect(before.runs).toBeGreaterThan(0);
    expect(before.items).toBeGreaterThan(0);
    const rules = reconRules(h.env.RECON_RETENTION);
    await pruneRetention(h.bot.deps, rules, { batchSize: 7 });
    expect(await counts()).toEqual(before);
    const later = new Date(Date.now() + h.env.RECON_RETENTION + 86_400_000);
    const figures = await pruneRetention({ ...h.bot.deps, clock: { now: () => later } }, rules, {
      batchSize: 7,
    });
    expect(await counts()).toEqual({ runs: 0, deltas: 0, snapshots: 0, items: 0 });
    expect(figures.snapshot_items?.batches).toBeGreaterThan(1);
    // The evidence outlives the runs: it is in the audit log, kept longer.
    const [audit] = await h.bot.deps.db.execute<{ n: string }>(
      sql`select count(*) as n from audit_log where action = 'recon.run'`,
    );
    expect(Number(audit?.n)).toBe(before.runs);
  });
});
