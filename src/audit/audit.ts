/** The hand-off record: one append-only row per human or system action. */
import { sql } from "drizzle-orm";
import type { Queryable } from "../platform/db/db.js";
import { auditLog } from "../platform/db/schema.js";

export const SYSTEM_ACTOR = "system";

export type AuditEntry = Omit<typeof auditLog.$inferInsert, "id">;

export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values(entry);
}

/**
 * Many rows in one statement: a bulk change records one row per exception all the same. The
 * rows travel as one JSON parameter (a prepared statement, one round trip, nothing for
 * drizzle to build per value: an intake batch writes one row per event); ids follow their order.
 */
export async function recordAudits(db: Queryable, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = JSON.stringify(
    entries.map((entry) => ({
      exception_id: entry.exceptionId ?? null,
      rejected_event_id: entry.rejectedEventId ?? null,
      actor: entry.actor,
      source: entry.source,
      action: entry.action,
      state_before: entry.stateBefore ?? null,
      state_after: entry.stateAfter ?? null,
      note: entry.note ?? null,
      expected_outcome: entry.expectedOutcome ?? null,
      details: entry.details ?? null,
      at: entry.at ?? null,
    })),
  );
  await db.execute(sql`
    insert into ${auditLog} (exception_id, rejected_event_id, actor, source, action, state_before,
      state_after, note, expected_outcome, details, at)
    select r.exception_id, r.rejected_event_id, r.actor, r.source, r.action, r.state_before,
      r.state_after, r.note, r.expected_outcome, r.details, coalesce(r.at, now())
    from rows from (jsonb_to_recordset(${rows}::jsonb) as (exception_id bigint,
      rejected_event_id bigint, actor text, source text, action text, state_before text,
      state_after text, note text, expected_outcome text, details jsonb, at timestamptz))
      with ordinality as r(exception_id, rejected_event_id, actor, source, action, state_before,
        state_after, note, expected_outcome, details, at, n)
    order by r.n`);
}
