/**
 * The counting half of a flush of the delivery write-ahead log, in one transaction: lock the
 * log's mark row (`delivery_wal_marks`, skipped when another flusher holds it), read the
 * entries past the mark, count them with `flushInTx`, move the mark to the last of them. The
 * mark commits with the figures, so an entry is counted once, whoever flushes and whatever
 * dies when. What follows the commit (recovery, gates, metrics, removing the entries) is the
 * caller's: entries at or before the mark still in the log are counted but not followed up
 * (their flusher died after its commit), returned as `orphans` to follow up again, unless
 * their flusher's lease on them is still running.
 */
import { sql } from "drizzle-orm";
import type { Db, Tx } from "../platform/db/db.js";
import { type FlushOptions, type FlushResult, flushInTx } from "./flush.repo.js";
import { laterStreamId, STREAM_START } from "./stream-id.js";
import type { DeliveryWal, WalEntry } from "./wal.js";

export type WalCommit =
  | { kind: "idle" }
  | { kind: "busy" }
  | {
      kind: "counted";
      /** The mark after this flush: the last entry counted. */
      mark: string;
      /** Entries counted by an earlier flush whose follow-ups never finished. */
      orphans: WalEntry[];
      /** Entries counted now, with what counting them found (null: none). */
      fresh: WalEntry[];
      result: FlushResult | null;
    };

export interface WalFlushOptions extends FlushOptions {
  /** Who flushes (one desk): its lease on the follow-ups of what it counted. */
  owner: string;
  /** How long other flushers leave those follow-ups to it. */
  leaseMs: number;
  /** About the most records one flush takes (whole entries, at least one). */
  maxRecords: number;
}

export async function commitWalFlush(
  db: Db,
  wal: Pick<DeliveryWal, "key" | "readAfter" | "readThrough">,
  options: WalFlushOptions,
): Promise<WalCommit> {
  return db.transaction(async (tx): Promise<WalCommit> => {
    const mark = await lockMark(tx, wal.key);
    if (!mark) return { kind: "busy" };
    const orphans = await wal.readThrough(mark.lastId, options.maxRecords);
    if (orphans.length > 0 && mark.leased && mark.followUpBy !== options.owner) {
      return { kind: "busy" };
    }
    const orphanRecords = orphans.reduce((sum, entry) => sum + entry.n, 0);
    const fresh =
      orphanRecords >= options.maxRecords
        ? []
        : await wal.readAfter(mark.lastId, options.maxRecords - orphanRecords);
    if (orphans.length === 0 && fresh.length === 0) return { kind: "idle" };
    const records = fresh.flatMap((entry) => entry.records);
    const result = records.length > 0 ? await flushInTx(tx, records, options) : null;
    const last = fresh.at(-1)?.id;
    const next = last ? laterStreamId(last, mark.lastId) : mark.lastId;
    await tx.execute(sql`
      update delivery_wal_marks
      set last_id = ${next}, follow_up_by = ${options.owner},
        follow_up_until = now() + make_interval(secs => ${options.leaseMs / 1000})
      where stream = ${wal.key}`);
    return { kind: "counted", mark: next, orphans, fresh, result };
  });
}

/** The log's mark, locked for this transaction; null while another flusher holds it. */
async function lockMark(
  tx: Tx,
  stream: string,
): Promise<{ lastId: string; followUpBy: string | null; leased: boolean } | null> {
  const select = () =>
    tx.execute<{ last_id: string; follow_up_by: string | null; leased: boolean | null }>(sql`
      select last_id, follow_up_by, follow_up_until > now() as leased
      from delivery_wal_marks where stream = ${stream}
      for update skip locked`);
  let [row] = await select();
  if (!row) {
    // The first flush of this log (or its row is locked: then the insert finds it and waits
    // for nothing, inserting no row, and we leave this round to the flusher holding it).
    const inserted = await tx.execute<{ last_id: string }>(sql`
      insert into delivery_wal_marks (stream, last_id) values (${stream}, ${STREAM_START})
      on conflict (stream) do nothing
      returning last_id`);
    if (inserted.length === 0) return null;
    [row] = await select();
    if (!row) return null;
  }
  return { lastId: row.last_id, followUpBy: row.follow_up_by, leased: row.leased === true };
}
