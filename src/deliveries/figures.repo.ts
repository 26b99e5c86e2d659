/**
 * The delivery figures of a window, merged from the figure rows: minute rows for the window's
 * ragged start, hour rows up to the first whole day, day rows from there on (the current
 * hour's and day's rows are kept up to date by every flush). A window of 7 days or more starts
 * on the hour (at most 0.6% more of it), so it reads no minute rows. One statement reads the
 * rows; counters are summed and sketches merged here, which is 2-3x faster than merging the
 * sketches' keys in SQL. Mean time to remediate comes from the exceptions resolved in the
 * window, per client, source and target; pure code places both in pipelines.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../platform/db/db.js";
import { DAY_MS, type DeliveryCounts, HOUR_MS, MINUTE_MS, noDeliveries } from "./aggregate.js";
import { mergeInto } from "./sketch.js";

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

/** Windows this long or longer start on the hour. */
export const HOUR_ALIGNED_WINDOW_MS = 7 * DAY_MS;

const floorTo = (at: number, size: number) => Math.floor(at / size) * size;
const ceilTo = (at: number, size: number) => Math.ceil(at / size) * size;
const iso = (at: number) => new Date(at).toISOString();

/** Where a window's rows come from: [since, hourEdge) minutes, [hourEdge, dayEdge) hours, days on. */
export function windowEdges(window: DeliveryWindow) {
  const start = window.now.getTime() - window.ms;
  const since = floorTo(start, window.ms >= HOUR_ALIGNED_WINDOW_MS ? HOUR_MS : MINUTE_MS);
  return { since, hourEdge: ceilTo(since, HOUR_MS), dayEdge: ceilTo(since, DAY_MS) };
}

/** Figures of one client's deliveries, or of one pipeline's. */
export interface FigureFilter {
  client?: string;
  pipeline?: string;
}

function rowsOf(window: DeliveryWindow, filter: FigureFilter) {
  const { since, hourEdge, dayEdge } = windowEdges(window);
  const now = window.now.toISOString();
  const scope = sql.join(
    [
      sql`true`,
      ...(filter.client === undefined ? [] : [sql`client = ${filter.client}`]),
      ...(filter.pipeline === undefined ? [] : [sql`pipeline = ${filter.pipeline}`]),
    ],
    sql` and `,
  );
  const columns = sql.raw(`pipeline, client, target_system, deliveries, failures, clamped,
      duplicates, timed, sum_ms, max_ms, last_delivered_at, sketch::text as sketch`);
  return sql`
    select ${columns} from delivery_minutes
    where minute >= ${iso(since)}::timestamptz and minute < ${iso(hourEdge)}::timestamptz
      and minute <= ${now}::timestamptz and ${scope}
    union all
    select ${columns} from delivery_hours
    where hour >= ${iso(hourEdge)}::timestamptz and hour < ${iso(dayEdge)}::timestamptz
      and hour <= ${now}::timestamptz and ${scope}
    union all
    select ${columns} from delivery_days
    where day >= ${iso(dayEdge)}::timestamptz and day <= ${now}::timestamptz and ${scope}`;
}

type StoredRow = {
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
  sketch: string;
};

export async function deliveryTotals(
  db: Db,
  window: DeliveryWindow,
  filter: FigureFilter = {},
): Promise<FigureTotals[]> {
  const rows = await db.execute<StoredRow>(rowsOf(window, filter));
  const totals = new Map<string, FigureTotals>();
  for (const row of rows) {
    const key = `${row.pipeline}\u0000${row.client}\u0000${row.target_system}`;
    let total = totals.get(key);
    if (!total) {
      total = {
        pipeline: row.pipeline,
        client: row.client,
        targetSystem: row.target_system,
        ...noDeliveries(),
        lastDeliveredAt: null,
      };
      totals.set(key, total);
    }
    total.deliveries += Number(row.deliveries);
    total.failures += Number(row.failures);
    total.clamped += Number(row.clamped);
    total.duplicates += Number(row.duplicates);
    total.timed += Number(row.timed);
    total.sumMs += Number(row.sum_ms ?? 0);
    if (row.max_ms !== null) total.maxMs = Math.max(total.maxMs ?? 0, Number(row.max_ms));
    if (row.last_delivered_at !== null) {
      const at = new Date(row.last_delivered_at);
      if (!total.lastDeliveredAt || at > total.lastDeliveredAt) total.lastDeliveredAt = at;
    }
    mergeInto(total.sketch, JSON.parse(row.sketch) as Record<string, number>);
  }
  return [...totals.values()];
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

/**
 * The latest successful delivery per pipeline (or of the one named) within `lookbackMs`
 * (freshness), from day rows.
 */
export async function lastDeliveries(
  db: Db,
  now: Date,
  lookbackMs: number,
  pipeline?: string,
): Promise<Map<string, Date>> {
  const since = iso(floorTo(now.getTime() - lookbackMs, DAY_MS));
  const one = pipeline === undefined ? sql`true` : sql`pipeline = ${pipeline}`;
  const rows = await db.execute<{ pipeline: string; at: string | Date }>(sql`
    select pipeline, max(last_delivered_at) as at from delivery_days
    where day >= ${since}::timestamptz and last_delivered_at is not null and ${one}
    group by pipeline`);
  return new Map(rows.map((row) => [row.pipeline, new Date(row.at)]));
}
