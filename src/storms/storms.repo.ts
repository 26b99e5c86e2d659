/** Reads of storms and their members. Writes live with the step that makes them. */
import { and, asc, eq, gt, gte, isNull, lte, ne, sql } from "drizzle-orm";
import { type AuditEntry, recordAudit, SYSTEM_ACTOR } from "../audit/audit.js";
import type { Queryable } from "../platform/db/db.js";
import { exceptions, type RootCause, storms } from "../platform/db/schema.js";
import type { StormRow, StormStats } from "./storm-card.js";

export async function findStorm(db: Queryable, stormId: number): Promise<StormRow | undefined> {
  const [row] = await db.select().from(storms).where(eq(storms.id, stormId));
  return row;
}

/**
 * Locks a storm row for a change. `FOR NO KEY UPDATE`, not `FOR UPDATE`: it serializes the
 * changes of one storm but lets a member row naming the storm (its foreign key takes KEY SHARE)
 * be written meanwhile. With `FOR UPDATE`, a storm action updating its members and a member
 * change joining the storm wait on each other and one of them is lost to a deadlock.
 */
export async function lockStorm(tx: Queryable, stormId: number): Promise<StormRow | undefined> {
  const [row] = await tx.select().from(storms).where(eq(storms.id, stormId)).for("no key update");
  return row;
}

/** Figures for the storm card, computed from the member rows as they are now. */
export async function stormStats(db: Queryable, stormId: number): Promise<StormStats> {
  const member = eq(exceptions.stormId, stormId);
  const [totals] = await db
    .select({
      members: sql<number>`count(*)::int`,
      events: sql<number>`coalesce(sum(${exceptions.occurrences}), 0)::int`,
      open: sql<number>`(count(*) filter (where ${exceptions.state} = 'open'))::int`,
      claimed: sql<number>`(count(*) filter (where ${exceptions.state} = 'claimed'))::int`,
      retrying: sql<number>`(count(*) filter (where ${exceptions.state} = 'retrying'))::int`,
      resolved: sql<number>`(count(*) filter (where ${exceptions.state} = 'resolved'))::int`,
      retryable: sql<number>`(count(*) filter (where ${exceptions.state} in ('open', 'claimed') and ${exceptions.latestEvent}->'retry' is not null))::int`,
      retryQueues: sql<
        string[] | null
      >`array_agg(distinct ${exceptions.latestEvent}->'retry'->>'queue' order by ${exceptions.latestEvent}->'retry'->>'queue') filter (where ${exceptions.state} in ('open', 'claimed') and ${exceptions.latestEvent}->'retry' is not null)`,
      firstSeenAt: sql<string | null>`min(${exceptions.firstSeenAt})`,
      lastSeenAt: sql<string | null>`max(${exceptions.lastSeenAt})`,
    })
    .from(exceptions)
    .where(member);
  const topSkus = await db
    .select({ sku: exceptions.sku, occurrences: exceptions.occurrences })
    .from(exceptions)
    .where(member)
    .orderBy(sql`${exceptions.occurrences} desc`, asc(exceptions.id))
    .limit(5);
  const message = sql<string>`coalesce(${exceptions.latestEvent}->'error'->>'message', '')`;
  const samples = await db
    .select({ message, members: sql<number>`count(*)::int` })
    .from(exceptions)
    .where(member)
    .groupBy(message)
    .orderBy(sql`count(*) desc`, message)
    .limit(3);
  return {
    members: totals?.members ?? 0,
    events: totals?.events ?? 0,
    open: totals?.open ?? 0,
    claimed: totals?.claimed ?? 0,
    retrying: totals?.retrying ?? 0,
    resolved: totals?.resolved ?? 0,
    retryable: totals?.retryable ?? 0,
    retryQueues: totals?.retryQueues ?? [],
    firstSeenAt: totals?.firstSeenAt ? new Date(totals.firstSeenAt) : null,
    lastSeenAt: totals?.lastSeenAt ? new Date(totals.lastSeenAt) : null,
    topSkus,
    samples,
  };
}

export type MemberFilter = "unclaimed" | "unresolved";

/**
 * Members that arrived by `asOf`, in id order, a page at a time: a long job walks them without
 * holding thousands of rows, and a rerun of the job walks the same ground.
 */
export async function memberPage(
  db: Queryable,
  input: { stormId: number; filter: MemberFilter; asOf: Date; afterId: number; limit: number },
): Promise<{ id: number }[]> {
  return db
    .select({ id: exceptions.id })
    .from(exceptions)
    .where(
      and(
        eq(exceptions.stormId, input.stormId),
        ne(exceptions.state, "resolved"),
        input.filter === "unclaimed" ? isNull(exceptions.claimedBy) : undefined,
        lte(exceptions.openedAt, input.asOf),
        gt(exceptions.id, input.afterId),
      ),
    )
    .orderBy(asc(exceptions.id))
    .limit(input.limit);
}

/** Storm-wide events (formed, claimed, retry all, resolve all, ended) are audit rows too. */
export async function recordStormAudit(
  db: Queryable,
  stormId: number,
  entry: Omit<AuditEntry, "exceptionId" | "details" | "actor"> & {
    actor?: string;
    details?: Record<string, unknown>;
  },
): Promise<void> {
  await recordAudit(db, {
    ...entry,
    actor: entry.actor ?? SYSTEM_ACTOR,
    exceptionId: null,
    details: { stormId, ...entry.details },
  });
}

/** How far a worker's clock may lag the clock that stamped a click, for the count below. */
const CLOCK_SKEW_MS = 60_000;

/**
 * Members this Resolve all resolved: by its actor, by hand, with its note and root cause,
 * since it was submitted (less the clock skew allowed between the web and worker processes).
 */
export async function resolvedByResolveAll(
  db: Queryable,
  stormId: number,
  input: { actor: { userId: string }; asOf: number; note: string; rootCause: RootCause },
): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(exceptions)
    .where(
      and(
        eq(exceptions.stormId, stormId),
        eq(exceptions.state, "resolved"),
        eq(exceptions.resolution, "manual"),
        eq(exceptions.resolvedBy, input.actor.userId),
        eq(exceptions.resolutionNote, input.note),
        eq(exceptions.rootCause, input.rootCause),
        gte(exceptions.resolvedAt, new Date(input.asOf - CLOCK_SKEW_MS)),
      ),
    );
  return row?.n ?? 0;
}

/** How many members of the storm are not resolved yet. */
export async function unresolvedMembers(db: Queryable, stormId: number): Promise<number> {
  const [open] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(exceptions)
    .where(and(eq(exceptions.stormId, stormId), ne(exceptions.state, "resolved")));
  return open?.n ?? 0;
}

/** Writes a claim or a resolution on the storm row; the caller holds its lock. */
export async function updateStormRow(
  tx: Queryable,
  stormId: number,
  patch: Partial<Omit<StormRow, "id">> & { updatedAt: Date },
): Promise<StormRow> {
  const [row] = await tx.update(storms).set(patch).where(eq(storms.id, stormId)).returning();
  if (!row) throw new Error(`storm ${stormId} vanished under its lock`);
  return row;
}

/**
 * What Retry all would do for this actor, counted in SQL in the state machine's order of
 * refusals: members without a retry job, already retrying, held by someone else, eligible.
 */
export async function retryCounts(
  db: Queryable,
  stormId: number,
  actor: string,
  isManager: boolean,
) {
  const canRetry = sql`${exceptions.latestEvent}->'retry' is not null`;
  const heldByOther = isManager
    ? sql`false`
    : sql`(${exceptions.claimedBy} is not null and ${exceptions.claimedBy} <> ${actor})`;
  const [row] = await db
    .select({
      noRetry: sql<number>`(count(*) filter (where not ${canRetry}))::int`,
      retrying: sql<number>`(count(*) filter (where ${canRetry} and ${exceptions.state} = 'retrying'))::int`,
      held: sql<number>`(count(*) filter (where ${canRetry} and ${exceptions.state} <> 'retrying' and ${heldByOther}))::int`,
      eligible: sql<number>`(count(*) filter (where ${canRetry} and ${exceptions.state} <> 'retrying' and not ${heldByOther}))::int`,
    })
    .from(exceptions)
    .where(and(eq(exceptions.stormId, stormId), ne(exceptions.state, "resolved")));
  return row ?? { noRetry: 0, retrying: 0, held: 0, eligible: 0 };
}
