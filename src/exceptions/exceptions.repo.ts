/** Reads of exception rows outside a change (the seam, change.ts, locks and writes them). */
import { eq, inArray } from "drizzle-orm";
import type { Queryable } from "../platform/db/db.js";
import { type ExceptionRow, exceptions } from "../platform/db/schema.js";

export async function findException(
  db: Queryable,
  exceptionId: number,
): Promise<ExceptionRow | undefined> {
  const [row] = await db.select().from(exceptions).where(eq(exceptions.id, exceptionId));
  return row;
}

/** Where each of these exceptions is and whose role it is (for bulk checks before a change). */
export async function placesOf(db: Queryable, exceptionIds: readonly number[]) {
  return db
    .select({ id: exceptions.id, role: exceptions.role, channel: exceptions.channel })
    .from(exceptions)
    .where(inArray(exceptions.id, [...exceptionIds]));
}

/** The trace an exception's work continues (its latest event's intake); null when none. */
export async function traceContextOf(db: Queryable, exceptionId: number): Promise<string | null> {
  const [row] = await db
    .select({ traceContext: exceptions.traceContext })
    .from(exceptions)
    .where(eq(exceptions.id, exceptionId));
  return row?.traceContext ?? null;
}
