/** Queries over routing_versions and the exceptions a routing change touches. */
import { asc, desc, eq, ne, sql } from "drizzle-orm";
import type { Queryable, Tx } from "../platform/db/db.js";
import { exceptions, routingVersions } from "../platform/db/schema.js";
import type { RoutableEvent } from "./evaluate.js";

export type VersionRow = typeof routingVersions.$inferSelect;

/** Postgres channel a committed activation is announced on (NOTIFY is per database). */
export const ROUTING_CHANNEL = "syncdesk_routing";
const ROUTING_LOCK = 727_275;

/** Serializes every routing write (numbering, activation) for the rest of the transaction. */
export async function lockRouting(tx: Tx): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${ROUTING_LOCK})`);
}

/** Delivered to every listener when the transaction commits, never if it rolls back. */
export async function notifyActivated(tx: Tx, version: number): Promise<void> {
  await tx.execute(sql`select pg_notify(${ROUTING_CHANNEL}, ${String(version)})`);
}

export async function activeVersion(db: Queryable): Promise<VersionRow | undefined> {
  const [row] = await db.select().from(routingVersions).where(eq(routingVersions.status, "active"));
  return row;
}

export async function activeVersionNumber(db: Queryable): Promise<number | null> {
  const [row] = await db
    .select({ version: routingVersions.version })
    .from(routingVersions)
    .where(eq(routingVersions.status, "active"));
  return row?.version ?? null;
}

export async function versionByNumber(
  db: Queryable,
  version: number,
  options: { lock?: boolean } = {},
): Promise<VersionRow | undefined> {
  const query = db.select().from(routingVersions).where(eq(routingVersions.version, version));
  const [row] = options.lock ? await query.for("update") : await query;
  return row;
}

export async function nextVersionNumber(tx: Tx): Promise<number> {
  const [row] = await tx
    .select({ max: sql<number | null>`max(${routingVersions.version})` })
    .from(routingVersions);
  return (row?.max ?? 0) + 1;
}

/** Files a routing version under the next number; the caller holds the routing lock. */
export async function insertNextVersion(
  tx: Tx,
  values: Omit<typeof routingVersions.$inferInsert, "version">,
): Promise<VersionRow> {
  const version = await nextVersionNumber(tx);
  const [row] = await tx
    .insert(routingVersions)
    .values({ ...values, version })
    .returning();
  if (!row) throw new Error(`routing version ${version} was not stored`);
  return row;
}

export async function recentVersions(db: Queryable, limit: number): Promise<VersionRow[]> {
  return db.select().from(routingVersions).orderBy(desc(routingVersions.version)).limit(limit);
}

export async function pendingProposals(db: Queryable): Promise<VersionRow[]> {
  return db
    .select()
    .from(routingVersions)
    .where(eq(routingVersions.status, "proposed"))
    .orderBy(asc(routingVersions.version));
}

export async function latestWithHash(db: Queryable, hash: string): Promise<VersionRow | undefined> {
  const [row] = await db
    .select()
    .from(routingVersions)
    .where(eq(routingVersions.contentHash, hash))
    .orderBy(desc(routingVersions.version))
    .limit(1);
  return row;
}

/** Open exceptions per role: the ones a removed role would leave without owners. */
export async function openByRole(db: Queryable): Promise<{ role: string; open: number }[]> {
  return db
    .select({ role: exceptions.role, open: sql<number>`count(*)::int` })
    .from(exceptions)
    .where(ne(exceptions.state, "resolved"))
    .groupBy(exceptions.role)
    .orderBy(asc(exceptions.role));
}

/**
 * Exceptions opened since `since`, as the events that opened them, in id order, a batch at a
 * time (keyset pagination: no offset, no giant result in memory). Raw rows, not drizzle's
 * mapping: this reads every exception of a month and the mapping tripled its cost.
 */
export async function* recentEvents(
  db: Queryable,
  since: Date,
  batchSize: number,
): AsyncGenerator<RoutableEvent[]> {
  let after = 0;
  for (;;) {
    const rows = await db.execute<RecentRow>(sql`
      select id, client, vertical, sku, source_system, target_system, operation, failure_mode,
             first_event->>'eventId' as event_id
      from ${exceptions}
      where opened_at >= ${since.toISOString()} and id > ${after}
      order by id
      limit ${batchSize}`);
    if (rows.length === 0) return;
    after = Number(rows[rows.length - 1]?.id ?? after);
    yield rows.map((row) => ({
      client: row.client,
      sku: row.sku,
      sourceSystem: row.source_system,
      targetSystem: row.target_system,
      operation: row.operation,
      failureMode: row.failure_mode,
      ...(row.vertical === null ? {} : { vertical: row.vertical }),
      ...(row.event_id === null ? {} : { eventId: row.event_id }),
    }));
    if (rows.length < batchSize) return;
  }
}

interface RecentRow extends Record<string, unknown> {
  id: string | number;
  client: string;
  vertical: string | null;
  sku: string;
  source_system: string;
  target_system: string;
  operation: string;
  failure_mode: string;
  event_id: string | null;
}
