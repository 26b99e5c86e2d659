/**
 * The delivery figures of a window, merged from the figure rows: minute rows for the window's
 * ragged start, hour rows from the first whole hour on (the current hour's row is kept up to
 * date by every flush). Counters are summed in SQL; sketches are merged bucket by bucket in SQL
 * and read per pipeline, client and target. Mean time to remediate comes from the exceptions
 * resolved in the window, per client, source and target; pure code places both in pipelines.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../platform/db/db.js";
import { type DeliveryCounts, HOUR_MS, MINUTE_MS } from "./aggregate.js";
import type { Sketch } from "./sketch.js";

export interface FigureTotals extends DeliveryCounts {
  pipeline: string;
  client: string;
  targetSystem: string;
  lastDeliveredAt: Date | null;
}

export interface RemediationRow {
  client: string;
  sourceSystem: string;
  targetSystem: string;
  resolved: number;
  /** Sum of resolvedAt − createdAt, ms. */
  totalMs: number;
}

export interface DeliveryWindow {
  now: Date;
  ms: number;
}

function rowsOf(window: DeliveryWindow, filter: { client?: string }) {
  const since = Math.floor((window.now.getTime() - window.ms) / MINUTE_MS) * MINUTE_MS;
  const edge = Math.ceil(since / HOUR_MS) * HOUR_MS;
  const sinceIso = new Date(since).toISOString();
  const edgeIso = new Date(edge).toISOString();
  const nowIso = window.now.toISOString();
  const client = filter.client === undefined ? sql`true` : sql`client = ${filter.client}`;
  return sql`(
    select pipeline, client, target_system, deliveries, failures, clamped, duplicates, timed,
      sum_ms, max_ms, last_delivered_at, sketch
    from delivery_minutes
    where minute >= ${sinceIso}::timestamptz and minute < ${edgeIso}::timestamptz
      and minute <= ${nowIso}::timestamptz and ${client}
    union all
    select pipeline, client, target_system, deliveries, failures, clamped, duplicates, timed,
      sum_ms, max_ms, last_delivered_at, sketch
    from delivery_hours
    where hour >= ${edgeIso}::timestamptz and hour <= ${nowIso}::timestamptz and ${client}
  )`;
}

export async function deliveryTotals(
  db: Db,
  window: DeliveryWindow,
  filter: { client?: string } = {},
): Promise<FigureTotals[]> {
  const rows = rowsOf(window, filter);
  const [totals, buckets] = await Promise.all([
    db.execute<{
      pipeline: string;
      client: string;
      target_system: string;
      deliveries: string;
      failures: string;
      clamped: string;
      duplicates: string;
      timed: string;
      sum_ms: number | null;
      max_ms: number | null;
      last_delivered_at: string | Date | null;
    }>(sql`
      select pipeline, client, target_system, sum(deliveries) as deliveries,
        sum(failures) as failures, sum(clamped) as clamped, sum(duplicates) as duplicates,
        sum(timed) as timed, sum(sum_ms) as sum_ms, max(max_ms) as max_ms,
        max(last_delivered_at) as last_delivered_at
      from ${rows} w
      group by pipeline, client, target_system`),
    db.execute<{
      pipeline: string;
      client: string;
      target_system: string;
      k: string;
      n: string;
    }>(sql`
      select pipeline, client, target_system, e.key as k, sum(e.value::bigint) as n
      from ${rows} w, jsonb_each_text(w.sketch) e
      group by pipeline, client, target_system, e.key`),
  ]);
  const key = (r: { pipeline: string; client: string; target_system: string }) =>
    `${r.pipeline}\u0000${r.client}\u0000${r.target_system}`;
  const sketches = new Map<string, Sketch>();
  for (const row of buckets) {
    const sketch = sketches.get(key(row)) ?? {};
    sketch[row.k] = Number(row.n);
    sketches.set(key(row), sketch);
  }
  return totals.map((row) => ({
    pipeline: row.pipeline,
    client: row.client,
    targetSystem: row.target_system,
    deliveries: Number(row.deliveries),
    failures: Number(row.failures),
    clamped: Number(row.clamped),
    duplicates: Number(row.duplicates),
    timed: Number(row.timed),
    sumMs: Number(row.sum_ms ?? 0),
    maxMs: row.max_ms === null ? null : Number(row.max_ms),
    lastDeliveredAt: row.last_delivered_at === null ? null : new Date(row.last_delivered_at),
    sketch: sketches.get(key(row)) ?? {},
  }));
}

/** Exceptions resolved in the window: how many and how long they took, per client and route. */
export async function remediation(
  db: Db,
  window: DeliveryWindow,
  filter: { client?: string } = {},
): Promise<RemediationRow[]> {
  const since = new Date(window.now.getTime() - window.ms).toISOString();
  const client = filter.client === undefined ? sql`true` : sql`client = ${filter.client}`;
  const rows = await db.execute<{
    client: string;
    source_system: string;
    target_system: string;
    resolved: string;
    total_ms: number | string | null;
  }>(sql`
    select client, source_system, target_system, count(*) as resolved,
      sum(extract(epoch from resolved_at - created_at) * 1000) as total_ms
    from exceptions
    where state = 'resolved' and resolved_at > ${since}::timestamptz
      and resolved_at <= ${window.now.toISOString()}::timestamptz and ${client}
    group by client, source_system, target_system`);
  return rows.map((row) => ({
    client: row.client,
    sourceSystem: row.source_system,
    targetSystem: row.target_system,
    resolved: Number(row.resolved),
    totalMs: Number(row.total_ms ?? 0),
  }));
}

/** The latest successful delivery per pipeline within `lookbackMs` (freshness). */
export async function lastDeliveries(
  db: Db,
  now: Date,
  lookbackMs: number,
): Promise<Map<string, Date>> {
  const since = new Date(
    Math.floor((now.getTime() - lookbackMs) / HOUR_MS) * HOUR_MS,
  ).toISOString();
  const rows = await db.execute<{ pipeline: string; at: string | Date }>(sql`
    select pipeline, max(last_delivered_at) as at from delivery_hours
    where hour >= ${since}::timestamptz and last_delivered_at is not null
    group by pipeline`);
  return new Map(rows.map((row) => [row.pipeline, new Date(row.at)]));
}
