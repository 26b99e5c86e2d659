/** A later successful sync of the same client, SKU and target resolves its open exceptions. */
import { sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { applySignal } from "../exceptions/exceptions.service.js";

export interface Success {
  client: string;
  sku: string;
  targetSystem: string;
  /** Epoch ms the delivery succeeded. */
  occurredAt: number;
  jobId?: string;
}

/** An open exception of a latency gate that a success concerns: its gate clears it. */
export interface GatedSuccess {
  exceptionId: number;
  /** The exception's gate detail (`latest_event.gate`), unparsed. */
  gate: unknown;
  /** Epoch ms the success happened. */
  succeededAt: number;
}

/**
 * Recovers the open exceptions these successes prove fixed: one query for all of them (a
 * batch of a thousand deliveries asks Postgres once), then one state change per exception.
 * Only a success after the exception's latest failure counts. Idempotent: an exception
 * already resolved is left alone. A latency gate's exception is not recovered here but
 * returned (`gated`), found by the same query: its gate clears it, saying how late it was.
 */
export async function recoverFromSuccesses(
  deps: Deps,
  successes: readonly Success[],
): Promise<{ recovered: number[]; gated: GatedSuccess[] }> {
  if (successes.length === 0) return { recovered: [], gated: [] };
  // The latest success per client, SKU and target is the one that proves most.
  const latest = new Map<string, Success>();
  for (const success of successes) {
    const key = `${success.client}\u0000${success.sku}\u0000${success.targetSystem}`;
    const known = latest.get(key);
    if (!known || known.occurredAt < success.occurredAt) latest.set(key, success);
  }
  const rows = [...latest.values()].map((s) => ({
    client: s.client,
    sku: s.sku,
    target_system: s.targetSystem,
    occurred_at: new Date(s.occurredAt).toISOString(),
    job_id: s.jobId ?? null,
  }));
  const open = await deps.db.execute<{
    id: number | string;
    occurred_at: string;
    job_id: string | null;
    gate: unknown;
  }>(sql`
    select e.id, r.occurred_at, r.job_id, e.latest_event->'gate' as gate
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      as r(client text, sku text, target_system text, occurred_at text, job_id text)
    join exceptions e
      on e.client = r.client and e.sku = r.sku and e.target_system = r.target_system
    where e.state <> 'resolved'
      -- A gate's late delivery may have arrived before its deadline and been reported after.
      and (e.last_seen_at <= r.occurred_at::timestamptz or e.latest_event ? 'gate')
    order by e.id`);
  const recovered: number[] = [];
  const gated: GatedSuccess[] = [];
  for (const row of open) {
    if (row.gate !== null && row.gate !== undefined) {
      gated.push({
        exceptionId: Number(row.id),
        gate: row.gate,
        succeededAt: Date.parse(row.occurred_at),
      });
      continue;
    }
    const changed = await applySignal(deps, {
      exceptionId: Number(row.id),
      signal: {
        kind: "recovered",
        detail: {
          succeededAt: new Date(row.occurred_at).toISOString(),
          ...(row.job_id ? { outcomeJobId: row.job_id } : {}),
        },
      },
      source: "outcome",
    });
    if (changed) recovered.push(Number(row.id));
  }
  return { recovered, gated };
}
