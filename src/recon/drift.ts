/**
 * Deltas become exceptions: every SKU a run found mismatched or missing in the consumer is a
 * failure event of mode `drift`, taken in through intake like any producer's (routing, storm
 * grouping, the exception seam: 50,000 deltas make one storm card, not 50,000 cards). A later
 * run that finds the SKU matched resolves its open drift and partial-write exceptions as
 * recovered, saying so in the card's thread. Job `recon.drift`, at-least-once: each delta's
 * event id is the run's and the SKU's, so a job run twice adds nothing.
 */

import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { applySignal } from "../exceptions/exceptions.service.js";
import { ingestFailure } from "../intake/intake.service.js";
import type { FailureEventInput } from "../platform/contracts/failure-event.schema.js";
import { deltaRows } from "./compare.repo.js";

const PAGE = 1000;

type RunFacts = {
  client: string;
  system: string;
  source_system: string;
  consumer_snapshot_key: string | number;
  taken_at: string | Date;
};

export function driftEvent(
  run: { id: number; client: string; system: string; sourceSystem: string; takenAt: Date },
  delta: {
    sku: string;
    class: string;
    source: number | null;
    consumer: number | null;
    delta: number;
  },
): FailureEventInput {
  const skuKey = createHash("sha256").update(delta.sku).digest("base64url").slice(0, 22);
  const missing = delta.consumer === null;
  return {
    eventId: `recon-${run.id}-${skuKey}`,
    occurredAt: run.takenAt.toISOString(),
    client: run.client,
    sku: delta.sku,
    sourceSystem: run.sourceSystem,
    targetSystem: run.system,
    operation: "reconcile",
    failureMode: "drift",
    error: {
      message: missing
        ? `Reconciliation #${run.id}: ${delta.sku} is missing in ${run.system}; ${run.sourceSystem} (source of truth) has ${delta.source}.`
        : `Reconciliation #${run.id}: ${run.system} has ${delta.consumer}, ${run.sourceSystem} (source of truth) has ${delta.source} (${delta.delta > 0 ? "+" : ""}${delta.delta}).`,
      code: missing ? "missing_in_consumer" : "quantity_mismatch",
    },
    attempts: 0,
    quantity: { expected: delta.source ?? 0, observed: delta.consumer ?? 0 },
  };
}

export async function driftFromRun(
  deps: Deps,
  runId: number,
): Promise<{ events: number; recovered: number }> {
  const [facts] = await deps.db.execute<RunFacts>(sql`
    select r.client, r.system, r.source_system, r.consumer_snapshot_key, s.taken_at
    from recon_runs r join snapshots s on s.key = r.consumer_snapshot_key
    where r.id = ${runId} and r.outcome = 'compared'`);
  if (!facts) return { events: 0, recovered: 0 };
  const run = {
    id: runId,
    client: facts.client,
    system: facts.system,
    sourceSystem: facts.source_system,
    takenAt: new Date(facts.taken_at),
  };
  let events = 0;
  let after = "";
  for (;;) {
    const page = await deltaRows(deps.db, runId, {
      order: "sku",
      classes: ["mismatch", "missing"],
      afterSku: after,
      limit: PAGE,
    });
    for (const d of page) {
      const event = driftEvent(run, {
        sku: d.sku,
        class: d.class,
        source: d.sourceQuantity,
        consumer: d.consumerQuantity,
        delta: d.delta,
      });
      await ingestFailure(deps, { id: event.eventId, data: event });
      events += 1;
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]?.sku ?? after;
  }
  return {
    events,
    recovered: await recoverMatched(deps, run, Number(facts.consumer_snapshot_key)),
  };
}

/** Open drift and partial-write exceptions of SKUs this run found matched. */
async function recoverMatched(
  deps: Deps,
  run: { id: number; client: string; system: string; takenAt: Date },
  consumerKey: number,
): Promise<number> {
  const open = await deps.db.execute<{ id: string | number }>(sql`
    select e.id from exceptions e
    where e.client = ${run.client} and e.target_system = ${run.system}
      and e.state <> 'resolved' and e.failure_mode in ('drift', 'partial_write')
      and e.last_seen_at <= ${run.takenAt.toISOString()}::timestamptz
      and not exists (select 1 from recon_deltas d where d.run_id = ${run.id} and d.sku = e.sku)
      and exists (select 1 from snapshot_items i where i.snapshot_key = ${consumerKey} and i.sku = e.sku)
    order by e.id`);
  let recovered = 0;
  for (const row of open) {
    const changed = await applySignal(deps, {
      exceptionId: Number(row.id),
      signal: { kind: "recovered", detail: { reconRunId: run.id } },
      source: "recon",
    });
    if (changed) recovered += 1;
  }
  return recovered;
}
