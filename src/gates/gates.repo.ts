/** The latency gates' queries: started deliveries past their deadline, last successes, watches. */
import { and, inArray, ne, sql } from "drizzle-orm";
import type { GateFailureMode } from "../exceptions/gate-detail.js";
import type { Db } from "../platform/db/db.js";
import { exceptions } from "../platform/db/schema.js";
import type { LateDelivery } from "./gate-policy.js";

export interface OverdueDelivery extends LateDelivery {
  pipeline: string;
  deadlineAt: number;
}

/** Started deliveries past their deadline that no gate has taken yet, oldest deadline first. */
export async function overdueDeliveries(
  db: Db,
  now: Date,
  limit: number,
): Promise<OverdueDelivery[]> {
  const rows = await db.execute<{
    event_id: string;
    pipeline: string;
    client: string;
    sku: string;
    source_system: string;
    target_system: string;
    triggered_at: string | Date;
    deadline_at: string | Date;
  }>(sql`
    select event_id, pipeline, client, sku, source_system, target_system, triggered_at, deadline_at
    from delivery_inflight
    where gated_at is null and deadline_at <= ${now.toISOString()}::timestamptz
    order by deadline_at, event_id
    limit ${limit}`);
  return rows.map((row) => ({
    eventId: row.event_id,
    pipeline: row.pipeline,
    client: row.client,
    sku: row.sku,
    sourceSystem: row.source_system,
    targetSystem: row.target_system,
    triggeredAt: new Date(row.triggered_at).getTime(),
    deadlineAt: new Date(row.deadline_at).getTime(),
  }));
}

/** The gate opened (or found) their exceptions: they are no longer waited for. */
export async function markGated(db: Db, eventIds: readonly string[], now: Date): Promise<void> {
  if (eventIds.length === 0) return;
  await db.execute(sql`
    update delivery_inflight set gated_at = ${now.toISOString()}::timestamptz
    where event_id in (select jsonb_array_elements_text(${JSON.stringify(eventIds)}::jsonb))
      and gated_at is null`);
}

/** Outside the pipeline's hours the gate sleeps: their deadline moves to the next opening. */
export async function postponeDeadlines(
  db: Db,
  eventIds: readonly string[],
  until: Date,
): Promise<void> {
  if (eventIds.length === 0) return;
  await db.execute(sql`
    update delivery_inflight set deadline_at = ${until.toISOString()}::timestamptz
    where event_id in (select jsonb_array_elements_text(${JSON.stringify(eventIds)}::jsonb))
      and gated_at is null`);
}

export interface Watch {
  /** Since when the gates watch the pipeline (the stale gate's start without any success). */
  since: number;
  /** The deadline its stale timer is armed for, if any. */
  staleTimerAt: number | null;
}

/** The watch of each pipeline; a pipeline seen for the first time is watched from now. */
export async function watches(
  db: Db,
  pipelines: readonly string[],
  now: Date,
): Promise<Map<string, Watch>> {
  if (pipelines.length === 0) return new Map();
  const names = JSON.stringify([...pipelines].sort());
  await db.execute(sql`
    insert into pipeline_watch (pipeline, watched_since)
    select name, ${now.toISOString()}::timestamptz
    from jsonb_array_elements_text(${names}::jsonb) as n(name)
    on conflict (pipeline) do nothing`);
  const rows = await db.execute<{
    pipeline: string;
    watched_since: string | Date;
    stale_timer_at: string | Date | null;
  }>(sql`
    select pipeline, watched_since, stale_timer_at from pipeline_watch
    where pipeline in (select jsonb_array_elements_text(${names}::jsonb))`);
  return new Map(
    rows.map((row) => [
      row.pipeline,
      {
        since: new Date(row.watched_since).getTime(),
        staleTimerAt: row.stale_timer_at === null ? null : new Date(row.stale_timer_at).getTime(),
      },
    ]),
  );
}

/** Remembers the deadline the pipeline's stale timer is armed for. */
export async function noteStaleTimer(db: Db, pipeline: string, at: number): Promise<void> {
  await db.execute(sql`
    update pipeline_watch set stale_timer_at = ${new Date(at).toISOString()}::timestamptz
    where pipeline = ${pipeline}`);
}

export interface LiveGateException {
  id: number;
  fingerprint: string;
  client: string;
  sku: string;
  targetSystem: string;
  latestEvent: unknown;
}

/** Unresolved exceptions with these fingerprints (a pipeline's stale or over-budget one). */
export async function liveByFingerprint(
  db: Db,
  fingerprints: readonly string[],
): Promise<LiveGateException[]> {
  if (fingerprints.length === 0) return [];
  return db
    .select({
      id: exceptions.id,
      fingerprint: exceptions.fingerprint,
      client: exceptions.client,
      sku: exceptions.sku,
      targetSystem: exceptions.targetSystem,
      latestEvent: exceptions.latestEvent,
    })
    .from(exceptions)
    .where(
      and(inArray(exceptions.fingerprint, [...fingerprints]), ne(exceptions.state, "resolved")),
    );
}

/**
 * Live exceptions opened by a gate with one of these failure modes, with their gate detail;
 * with `deliveryEventIds`, only late ones waiting for one of those deliveries.
 */
export async function liveGateExceptions(
  db: Db,
  failureModes: readonly GateFailureMode[],
  deliveryEventIds?: readonly string[],
): Promise<{ id: number; gate: unknown }[]> {
  const forDeliveries =
    deliveryEventIds === undefined
      ? sql``
      : sql`and latest_event->'gate'->>'deliveryEventId' in
          (select jsonb_array_elements_text(${JSON.stringify(deliveryEventIds)}::jsonb))`;
  // The modes as literals, so the planner can prove the partial index exceptions_live_gates
  // covers the query (a parameter would leave it a scan of every live exception).
  const modes = sql.raw(failureModes.map((mode) => `'${mode}'`).join(", "));
  const rows = await db.execute<{ id: string | number; gate: unknown }>(sql`
    select id, latest_event->'gate' as gate from ${exceptions}
    where state <> 'resolved' and failure_mode in (${modes})
      ${forDeliveries}
    order by id`);
  return rows.map((row) => ({ id: Number(row.id), gate: row.gate }));
}
