/**
 * Which events of an HTTP batch the desk already has: failures it took in (failure_events),
 * deliveries it counted (delivery_seen) or holds as started (delivery_inflight). One query.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../platform/db/db.js";

export interface KnownQuery {
  failures: string[];
  succeeded: string[];
  started: string[];
}

/** Keys `f:<id>`, `d:<id>`, `s:<id>` of the events already known. */
export async function knownEvents(db: Db, ids: KnownQuery): Promise<Set<string>> {
  if (!ids.failures.length && !ids.succeeded.length && !ids.started.length) return new Set();
  const rows = await db.execute<{ key: string }>(sql`
    select 'f:' || event_id as key from failure_events
      where event_id in (select jsonb_array_elements_text(${JSON.stringify(ids.failures)}::jsonb))
    union all
    select 'd:' || event_id from delivery_seen
      where outcome = 'd'
        and event_id in (select jsonb_array_elements_text(${JSON.stringify(ids.succeeded)}::jsonb))
    union all
    select 's:' || event_id from delivery_seen
      where event_id in (select jsonb_array_elements_text(${JSON.stringify(ids.started)}::jsonb))
    union all
    select 's:' || event_id from delivery_inflight
      where event_id in (select jsonb_array_elements_text(${JSON.stringify(ids.started)}::jsonb))`);
  return new Set(rows.map((row) => row.key));
}
