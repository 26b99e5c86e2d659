/**
 * What retention removes, table by table. Each rule prunes at most `limit` rows per batch, so
 * a batch is one short transaction holding row locks on those rows only: intake keeps
 * inserting meanwhile (bench/retention.ts measures it).
 *
 * What the hand-off audit promises (who did what and why) outlives the payloads: the audit
 * rows have their own, longest, retention; failure payloads go only once their exception has
 * been resolved for RETENTION_FAILURE_PAYLOADS; a rejected event keeps its row (the audit
 * refers to it) and loses only its raw payload.
 *
 * Delivery figures (src/deliveries) go by age: the minute rows, the eventIds remembered for
 * dedupe and started deliveries that never ended after DELIVERY_DETAIL_KEEP_MS (they serve the
 * ragged edge of windows up to a day and redeliveries only); hour and day rows and the grouped
 * rejections after RETENTION_DELIVERIES.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Queryable } from "../platform/db/db.js";

export interface RetentionRule {
  /** The table, as metrics and logs name it. */
  table: string;
  /** How long rows are kept (ms), counted as the rule says. */
  keepMs: number;
  /** Removes (or empties) at most `limit` rows whose time is before `cutoff`; returns how many. */
  batch(db: Queryable, cutoff: Date, limit: number): Promise<number>;
}

export interface RetentionSettings {
  failurePayloadsMs: number;
  rejectedEventsMs: number;
  auditMs: number;
  deliveriesMs: number;
  /** Reconciliation: runs with their deltas, snapshots with their items, refusals. */
  reconMs: number;
}

/**
 * A rule whose batch is one statement that returns a row per row it removed or emptied, at most
 * `limit` of them, all before `cutoff` (an ISO instant).
 */
const rule = (
  table: string,
  keepMs: number,
  statement: (cutoff: string, limit: number) => SQL,
): RetentionRule => ({
  table,
  keepMs,
  batch: async (db, cutoff, limit) =>
    ((await db.execute(statement(cutoff.toISOString(), limit))) as unknown[]).length,
});

/** Deletes rows of `table` that `where` picks, `limit` at a time, by ctid (no index needed). */
const deleteWhere = (table: string, keepMs: number, where: (cutoff: string) => SQL) =>
  rule(
    table,
    keepMs,
    (cutoff, limit) => sql`
      delete from ${sql.raw(table)} where ctid = any(array(
        select ctid from ${sql.raw(table)} where ${where(cutoff)} limit ${limit}))
      returning 1`,
  );

/** Empties a payload column of rows received before the cutoff; the rows stay. */
const emptyColumn = (table: string, column: string, at: string, keepMs: number) =>
  rule(
    table,
    keepMs,
    (cutoff, limit) => sql`
      update ${sql.raw(table)} set ${sql.raw(column)} = '' where id = any(array(
        select id from ${sql.raw(table)}
        where ${sql.raw(at)} < ${cutoff}::timestamptz and ${sql.raw(column)} <> ''
        order by id limit ${limit}))
      returning 1`,
  );

/** The payloads of failure events whose exception was resolved before the cutoff. */
export const failurePayloads = (keepMs: number): RetentionRule =>
  deleteWhere(
    "failure_events",
    keepMs,
    (cutoff) => sql`exception_id in (
      select id from exceptions where state = 'resolved' and resolved_at < ${cutoff}::timestamptz)`,
  );

/** The raw payload of rejected events received before the cutoff; the row and its errors stay. */
export const rejectedPayloads = (keepMs: number): RetentionRule =>
  emptyColumn("rejected_events", "raw_text", "received_at", keepMs);

/**
 * The latest raw payload a rejection card shows (`rejection_groups.sample`), once its group has
 * seen nothing new since the cutoff: kept no longer than the rejected events' own payloads.
 */
export const rejectionSamples = (keepMs: number): RetentionRule =>
  emptyColumn("rejection_groups", "sample", "last_seen_at", keepMs);

/** Audit rows written before the cutoff (ids grow with time: the oldest come first). */
export const auditRows = (keepMs: number): RetentionRule =>
  rule(
    "audit_log",
    keepMs,
    (cutoff, limit) => sql`
      delete from audit_log where id = any(array(
        select id from audit_log where at < ${cutoff}::timestamptz order by id limit ${limit}))
      returning 1`,
  );

/** How long minute rows, dedupe eventIds and unended starts are kept (windows of 24 h + 1 h). */
export const DELIVERY_DETAIL_KEEP_MS = 2 * 86_400_000;

/** Rows of `table` whose `column` (indexed, leading) is before the cutoff. */
const olderThan = (table: string, column: string, keepMs: number) =>
  deleteWhere(table, keepMs, (cutoff) => sql`${sql.raw(column)} < ${cutoff}::timestamptz`);

export const deliveryRules = (keepMs: number): RetentionRule[] => {
  const detailMs = Math.min(keepMs, DELIVERY_DETAIL_KEEP_MS);
  return [
    olderThan("delivery_minutes", "minute", detailMs),
    olderThan("delivery_seen", "minute", detailMs),
    olderThan("delivery_inflight", "started_at", detailMs),
    olderThan("delivery_hours", "hour", keepMs),
    olderThan("delivery_days", "day", keepMs),
    olderThan("delivery_rejections", "last_seen_at", keepMs),
  ];
};

/**
 * Reconciliation (RECON_RETENTION): a run's deltas, then the run (its evidence stays in the
 * audit log, kept longer); then the items of snapshots no remaining run compares, then those
 * snapshots; then refusals. A run's report stays readable as long as its snapshots exist, and
 * its snapshots exist as long as it does.
 */
export const reconRules = (keepMs: number): RetentionRule[] => {
  const runsBefore = (cutoff: string) =>
    sql`select id from recon_runs where started_at < ${cutoff}::timestamptz`;
  const unreferenced = (cutoff: string) => sql`
    select s.key from snapshots s
    where s.first_part_at < ${cutoff}::timestamptz
      and not exists (select 1 from recon_runs r
                      where r.source_snapshot_key = s.key or r.consumer_snapshot_key = s.key)`;
  return [
    deleteWhere("recon_deltas", keepMs, (cutoff) => sql`run_id in (${runsBefore(cutoff)})`),
    rule(
      "recon_runs",
      keepMs,
      (cutoff, limit) => sql`
        delete from recon_runs where id in (${runsBefore(cutoff)} order by id limit ${limit})
        returning 1`,
    ),
    deleteWhere(
      "snapshot_items",
      keepMs,
      (cutoff) => sql`snapshot_key in (${unreferenced(cutoff)})`,
    ),
    rule(
      "snapshots",
      keepMs,
      (cutoff, limit) => sql`
        delete from snapshots where key in (${unreferenced(cutoff)} limit ${limit})
          and not exists (select 1 from snapshot_items i where i.snapshot_key = snapshots.key)
        returning 1`,
    ),
    olderThan("snapshot_rejections", "received_at", keepMs),
  ];
};

export function retentionRules(settings: RetentionSettings): RetentionRule[] {
  return [
    failurePayloads(settings.failurePayloadsMs),
    rejectedPayloads(settings.rejectedEventsMs),
    rejectionSamples(settings.rejectedEventsMs),
    auditRows(settings.auditMs),
    ...deliveryRules(settings.deliveriesMs),
    ...reconRules(settings.reconMs),
  ];
}

/** The audit must outlive every payload it explains; a shorter setting is refused at start. */
export function checkRetention(settings: RetentionSettings): string | null {
  const longestPayload = Math.max(settings.failurePayloadsMs, settings.rejectedEventsMs);
  return settings.auditMs < longestPayload
    ? "RETENTION_AUDIT must be at least as long as RETENTION_FAILURE_PAYLOADS and RETENTION_REJECTED_EVENTS"
    : null;
}
