/** The hand-off record: one append-only row per human or system action. */
import type { Queryable } from "../platform/db/db.js";
import { auditLog } from "../platform/db/schema.js";

export const SYSTEM_ACTOR = "system";

export type AuditEntry = Omit<typeof auditLog.$inferInsert, "id">;

export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.insert(auditLog).values(entry);
}

/** Many rows in one statement: a bulk change records one row per exception all the same. */
export async function recordAudits(db: Queryable, entries: AuditEntry[]): Promise<void> {
  if (entries.length > 0) await db.insert(auditLog).values(entries);
}
