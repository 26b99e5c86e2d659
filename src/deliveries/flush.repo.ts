/**
 * Counting delivery records, in one transaction: eventIds already counted are found (and
 * the new ones remembered), started deliveries recorded and ended ones deleted, then one
 * multi-row upsert per figure table merges counters and sketches into the minute and hour
 * rows, and rejected events into their groups. Rows are always locked in the same order, so
 * flushes of several workers wait for each other instead of deadlocking. `flushInTx` runs in
 * the transaction of a flush of the delivery WAL (src/deliveries/wal-flush.repo.ts), which
 * moves the WAL's mark with it; `flushRecords` is its own transaction (failure events, counted
 * straight from intake's batch).
 */
import { sql } from "drizzle-orm";
import { noteRejection, type RejectionTarget } from "../intake/rejection-groups.js";
import type { Db, Tx } from "../platform/db/db.js";
import { type Counted, DAY_MS, type FigureRow, foldRows, HOUR_MS, MINUTE_MS } from "./aggregate.js";
import type { DeliveryRecord, RejectedRecord } from "./delivery.js";

export interface FlushResult {
  counted: Counted[];
  minuteRows: FigureRow[];
  rejected: RejectedRecord[];
  /** Milliseconds per step (dedupe, started, ended, figures, rejections), for the debug log. */
  steps: Record<string, number>;
}

type Countable = Exclude<DeliveryRecord, { kind: "rejected" }>;

const minuteOf = (ms: number) => new Date(Math.floor(ms / MINUTE_MS) * MINUTE_MS).toISOString();

export interface FlushOptions {
  /** Now, epoch ms: deliveries are never placed later than this. */
  receivedAt: number;
  /** Where each producer's rejected events are carded (its role's channel). */
  rejectionTarget: RejectionTarget;
}

export async function flushRecords(
  db: Db,
  records: readonly DeliveryRecord[],
  options: FlushOptions,
): Promise<FlushResult> {
  return db.transaction((tx) => flushInTx(tx, records, options));
}

export async function flushInTx(
  tx: Tx,
  records: readonly DeliveryRecord[],
  { receivedAt, rejectionTarget }: FlushOptions,
): Promise<FlushResult> {
  const steps: Record<string, number> = {};
  let mark = performance.now();
  const step = (name: string) => {
    const now = performance.now();
    steps[name] = Math.round(now - mark);
    mark = now;
  };
  const rejected = records.filter((r): r is RejectedRecord => r.kind === "rejected");
  const countable = records.filter((r): r is Countable => r.kind !== "rejected");

  // 1. Dedupe: an ended delivery (delivered or failed) with an eventId counts once, ever.
  const endKey = (r: Countable) =>
    r.kind === "started" || r.eventId === undefined
      ? null
      : `${r.kind === "delivered" ? "d" : "f"}\u0000${r.eventId}`;
  const firstInFlush = new Map<string, Countable>();
  for (const record of countable) {
    const key = endKey(record);
    if (key !== null && !firstInFlush.has(key)) firstInFlush.set(key, record);
  }
  const fresh = new Set<string>();
  // One flat array of ids per outcome (JSON text arrays parse far faster than records), all
  // remembered under the flush's minute: pruning by minute needs no finer time than that.
  const seenMinute = minuteOf(receivedAt);
  for (const outcome of ["d", "f"] as const) {
    const ids = [...firstInFlush.keys()]
      .filter((key) => key[0] === outcome)
      .map((key) => key.slice(2))
      .sort(cmp);
    if (ids.length === 0) continue;
    const inserted = await tx.execute<{ event_id: string }>(sql`
      insert into delivery_seen (event_id, outcome, minute)
      select e.id, ${outcome}, ${seenMinute}::timestamptz
      from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) with ordinality as e(id, n)
      order by e.n
      on conflict do nothing
      returning event_id`);
    for (const row of inserted) fresh.add(`${outcome}\u0000${row.event_id}`);
  }
  step("dedupe");
  const counted: Counted[] = [];
  const ended = new Map<string, Counted[]>();
  for (const record of countable) {
    const key = endKey(record);
    const duplicate = key !== null && (firstInFlush.get(key) !== record || !fresh.has(key));
    const item: Counted = { record, duplicate };
    counted.push(item);
    if (!duplicate && record.kind !== "started" && record.eventId !== undefined) {
      const list = ended.get(record.eventId) ?? [];
      list.push(item);
      ended.set(record.eventId, list);
    }
  }

  // 2. Started deliveries: remembered until they end, unless they already have (a success
  //    that overtook its start, or a start redelivered after its end).
  const started = dedupeBy(
    countable.filter((r): r is Extract<Countable, { kind: "started" }> => r.kind === "started"),
    (r) => r.eventId,
  ).sort((a, b) => cmp(a.eventId, b.eventId));
  if (started.length > 0) {
    const rows = started.map((r) => ({
      event_id: r.eventId,
      pipeline: r.pipeline,
      client: r.client,
      sku: r.sku,
      source_system: r.sourceSystem,
      target_system: r.targetSystem,
      triggered_at: new Date(r.triggeredAt).toISOString(),
      started_at: new Date(r.startedAt).toISOString(),
      deadline_at: r.deadlineAt === null ? null : new Date(r.deadlineAt).toISOString(),
    }));
    await tx.execute(sql`
      insert into delivery_inflight (event_id, pipeline, client, sku, source_system,
        target_system, triggered_at, started_at, deadline_at)
      select r.event_id, r.pipeline, r.client, r.sku, r.source_system, r.target_system,
        r.triggered_at, r.started_at, r.deadline_at
      from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as (event_id text, pipeline text, client text, sku text, source_system text, target_system text, triggered_at timestamptz, started_at timestamptz, deadline_at timestamptz))
      with ordinality as r(event_id, pipeline, client, sku, source_system, target_system, triggered_at, started_at, deadline_at, n)
      where not exists (select 1 from delivery_seen s where s.event_id = r.event_id)
      order by r.n
      on conflict (event_id) do nothing`);
  }

  step("started");
  // 3. Ended deliveries end their start; a success without triggeredAt is timed from it
  //    (from a start in this same flush, or one remembered earlier).
  for (const record of started) {
    for (const item of ended.get(record.eventId) ?? [])
      item.startedTriggeredAt = record.triggeredAt;
  }
  if (ended.size > 0) {
    const ids = [...ended.keys()].sort(cmp);
    const gone = await tx.execute<{ event_id: string; triggered_at: string | Date }>(sql`
      delete from delivery_inflight
      where event_id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))
      returning event_id, triggered_at`);
    for (const row of gone) {
      for (const item of ended.get(row.event_id) ?? []) {
        item.startedTriggeredAt = new Date(row.triggered_at).getTime();
      }
    }
  }

  step("ended");
  // 4. Figure rows per minute, hour and day: a window reads its edges fine and its middle coarse.
  //    Sent together (pipelined on the transaction's connection: one wait, not three); the
  //    server still runs them in this order, so the tables are locked alike by every flush.
  const minuteRows = foldRows(counted, receivedAt, MINUTE_MS);
  // Each settles before a failure is thrown: nothing may still be sent once it rolls back.
  const figures = await Promise.allSettled([
    upsertFigures(tx, "delivery_minutes", "minute", minuteRows),
    upsertFigures(tx, "delivery_hours", "hour", foldRows(counted, receivedAt, HOUR_MS)),
    upsertFigures(tx, "delivery_days", "day", foldRows(counted, receivedAt, DAY_MS)),
  ]);
  for (const settled of figures) if (settled.status === "rejected") throw settled.reason;
  step("figures");

  // 5. Rejected events, grouped by producer source and problem.
  if (rejected.length > 0) {
    const groups = await upsertRejections(tx, rejected, receivedAt);
    // The producer's card of each problem, like rejected failure events (one card a group).
    for (const group of groups) {
      await noteRejection(tx, rejectionTarget, {
        kind: "delivery",
        // The source is the sourceSystem, or over HTTP the producer's name: either rule takes it.
        who:
          group.source === "(unknown)"
            ? {}
            : { producer: group.source, sourceSystem: group.source },
        problem: group.problem,
        details: group.problem,
        sample: group.sample,
        count: group.count,
        at: new Date(receivedAt),
      });
    }
  }
  step("rejections");
  return { counted, minuteRows, rejected, steps };
}

async function upsertFigures(
  tx: Tx,
  table: "delivery_minutes" | "delivery_hours" | "delivery_days",
  bucketColumn: "minute" | "hour" | "day",
  rows: FigureRow[],
): Promise<void> {
  if (rows.length === 0) return;
  const payload = rows.map((row) => ({
    bucket: new Date(row.bucket).toISOString(),
    pipeline: row.pipeline,
    client: row.client,
    target_system: row.targetSystem,
    deliveries: row.deliveries,
    failures: row.failures,
    clamped: row.clamped,
    duplicates: row.duplicates,
    timed: row.timed,
    sum_ms: row.sumMs,
    max_ms: row.maxMs,
    sketch: row.sketch,
    last_delivered_at: row.lastDeliveredAt === null ? null : new Date(row.lastDeliveredAt),
  }));
  const t = sql.raw(table);
  const b = sql.raw(bucketColumn);
  // The sketch merge adds bucket counts key by key, in SQL: no read-modify-write round trip.
  await tx.execute(sql`
    insert into ${t} as d (${b}, pipeline, client, target_system, deliveries, failures,
      clamped, duplicates, timed, sum_ms, max_ms, sketch, last_delivered_at)
    select r.bucket, r.pipeline, r.client, r.target_system, r.deliveries, r.failures,
      r.clamped, r.duplicates, r.timed, r.sum_ms, r.max_ms, r.sketch, r.last_delivered_at
    from rows from (jsonb_to_recordset(${JSON.stringify(payload)}::jsonb) as (bucket timestamptz, pipeline text, client text, target_system text, deliveries bigint, failures bigint, clamped bigint, duplicates bigint, timed bigint, sum_ms float8, max_ms float8, sketch jsonb, last_delivered_at timestamptz))
      with ordinality as r(bucket, pipeline, client, target_system, deliveries, failures, clamped, duplicates, timed, sum_ms, max_ms, sketch, last_delivered_at, n)
    order by r.n
    on conflict (${b}, pipeline, client, target_system) do update set
      deliveries = d.deliveries + excluded.deliveries,
      failures = d.failures + excluded.failures,
      clamped = d.clamped + excluded.clamped,
      duplicates = d.duplicates + excluded.duplicates,
      timed = d.timed + excluded.timed,
      sum_ms = d.sum_ms + excluded.sum_ms,
      max_ms = greatest(d.max_ms, excluded.max_ms),
      last_delivered_at = greatest(d.last_delivered_at, excluded.last_delivered_at),
      sketch = case
        when excluded.sketch = '{}'::jsonb then d.sketch
        when d.sketch = '{}'::jsonb then excluded.sketch
        else (
          select jsonb_object_agg(k, n)
          from (
            select k, sum(v::bigint) as n
            from (
              select key as k, value as v from jsonb_each_text(d.sketch)
              union all
              select key, value from jsonb_each_text(excluded.sketch)
            ) both_sides
            group by k
          ) merged
        )
      end`);
}

async function upsertRejections(
  tx: Tx,
  rejected: RejectedRecord[],
  receivedAt: number,
): Promise<{ source: string; problem: string; count: number; sample: string }[]> {
  const groups = new Map<
    string,
    { source: string; problem: string; count: number; sample: string }
  >();
  for (const r of rejected) {
    const key = `${r.source}\u0000${r.problem}`;
    const group = groups.get(key);
    if (group) {
      group.count += 1;
      group.sample = r.sample;
    } else groups.set(key, { source: r.source, problem: r.problem, count: 1, sample: r.sample });
  }
  const rows = [...groups.values()].sort(
    (a, b) => cmp(a.source, b.source) || cmp(a.problem, b.problem),
  );
  const at = new Date(receivedAt).toISOString();
  await tx.execute(sql`
    insert into delivery_rejections as d (source, problem, count, first_seen_at, last_seen_at, sample)
    select r.source, r.problem, r.count, ${at}::timestamptz, ${at}::timestamptz, r.sample
    from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as (source text, problem text, count bigint, sample text))
      with ordinality as r(source, problem, count, sample, n)
    order by r.n
    on conflict (source, problem) do update set
      count = d.count + excluded.count,
      last_seen_at = greatest(d.last_seen_at, excluded.last_seen_at),
      sample = excluded.sample`);
  return rows;
}

function dedupeBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
