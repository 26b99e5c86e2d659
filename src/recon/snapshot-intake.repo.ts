/**
 * Loading one snapshot part: the part's row (a redelivered part finds it and changes nothing),
 * its items in one multi-row insert, the snapshot's counters, and on the last part the checks
 * that make the snapshot comparable (no duplicate SKU line) and its content hash. One
 * transaction per part: a part is in whole or not at all.
 *
 * Parts of one snapshot load side by side; they meet only at the counter update, whose row lock
 * makes the part that brings `parts_received` to `parts` the one that sees every other part
 * committed (READ COMMITTED reads what committed before each statement).
 */
import { sql } from "drizzle-orm";
import type { SnapshotPart } from "../platform/contracts/snapshot-part.schema.js";
import type { Db, Tx } from "../platform/db/db.js";
import type { SnapshotState } from "../platform/db/schema.js";
import { type SnapshotProblem, snapshotProblemText } from "./recon.messages.js";

export type PartOutcome =
  | { kind: "loaded"; snapshotKey: number; complete: false }
  | { kind: "loaded"; snapshotKey: number; complete: true; completed: CompletedSnapshot }
  | { kind: "redelivered"; snapshotKey: number }
  | { kind: "rejected"; problem: SnapshotProblem; snapshotRejected: boolean };

export interface CompletedSnapshot {
  key: number;
  id: string;
  client: string;
  system: string;
  takenAt: Date;
}

type SnapshotRow = {
  key: number;
  client: string;
  system: string;
  taken_at: Date | string;
  parts: number;
  state: SnapshotState;
};

/** Thrown inside the transaction to roll the part back and report why. */
class PartRefused extends Error {
  constructor(
    readonly problem: SnapshotProblem,
    readonly rejectSnapshot: boolean,
  ) {
    super(problem.code);
  }
}

/** How many duplicate lines a rejection names. */
const LISTED = 20;

export async function loadSnapshotPart(
  db: Db,
  part: SnapshotPart,
  now: Date,
): Promise<PartOutcome> {
  try {
    return await db.transaction(async (tx) => loadInTx(tx, part, now));
  } catch (error) {
    if (!(error instanceof PartRefused)) throw error;
    // The refused part's own writes are gone; the snapshot, when the part proves it cannot be
    // trusted, is closed in a transaction of its own so no later part completes it.
    const snapshotRejected =
      error.rejectSnapshot &&
      (await rejectSnapshot(db, part.snapshotId, snapshotProblemText(error.problem)));
    return { kind: "rejected", problem: error.problem, snapshotRejected };
  }
}

async function loadInTx(tx: Tx, part: SnapshotPart, now: Date): Promise<PartOutcome> {
  const at = now.toISOString();
  await tx.execute(sql`
    insert into snapshots (id, client, system, taken_at, parts, first_part_at)
    values (${part.snapshotId}, ${part.client}, ${part.system}, ${part.takenAt}::timestamptz,
            ${part.parts}, ${at}::timestamptz)
    on conflict (id) do nothing`);
  const [snapshot] = await tx.execute<SnapshotRow>(sql`
    select key, client, system, taken_at, parts, state from snapshots where id = ${part.snapshotId}`);
  if (!snapshot) throw new Error(`snapshot ${part.snapshotId} vanished`);

  const [seen] = await tx.execute(sql`
    select 1 from snapshot_parts where snapshot_key = ${snapshot.key} and part = ${part.part}`);
  if (seen) return { kind: "redelivered", snapshotKey: Number(snapshot.key) };

  if (snapshot.state !== "receiving") {
    throw new PartRefused({ code: "closed", state: snapshot.state }, false);
  }
  const takenAt = new Date(snapshot.taken_at).getTime();
  const differs = [
    snapshot.client !== part.client && `client ${snapshot.client} vs ${part.client}`,
    snapshot.system !== part.system && `system ${snapshot.system} vs ${part.system}`,
    takenAt !== new Date(part.takenAt).getTime() &&
      `takenAt ${new Date(takenAt).toISOString()} vs ${part.takenAt}`,
  ].filter((text): text is string => typeof text === "string");
  if (differs.length > 0) throw new PartRefused({ code: "header_mismatch", differs }, true);
  if (snapshot.parts !== part.parts) {
    throw new PartRefused(
      { code: "parts_mismatch", expected: snapshot.parts, got: part.parts },
      true,
    );
  }

  const inserted = await tx.execute(sql`
    insert into snapshot_parts (snapshot_key, part, item_count, received_at)
    values (${snapshot.key}, ${part.part}, ${part.items.length}, ${at}::timestamptz)
    on conflict do nothing returning 1`);
  // A copy of this part loading at this very moment (a stalled job run twice) got there first.
  if (inserted.length === 0) return { kind: "redelivered", snapshotKey: Number(snapshot.key) };

  if (part.items.length > 0) {
    // One statement for the whole part: the items travel as one JSON parameter and Postgres
    // turns them into rows (a multi-row insert without 30,000 bind parameters).
    const items = JSON.stringify(
      part.items.map((item) => ({ s: item.sku, q: item.quantity, l: item.location ?? "" })),
    );
    await tx.execute(sql`
      insert into snapshot_items (snapshot_key, sku, quantity, location)
      select ${snapshot.key}, x.s, x.q, x.l
      from json_to_recordset(${items}::json) as x(s text, q bigint, l text)`);
  }

  const [counted] = await tx.execute<{ parts_received: number; parts: number }>(sql`
    update snapshots
    set parts_received = parts_received + 1, item_count = item_count + ${part.items.length}
    where key = ${snapshot.key} and state = 'receiving'
    returning parts_received, parts`);
  // Closed (expired, rejected) while this part loaded: its items go with the rollback.
  if (!counted) throw new PartRefused({ code: "closed", state: "rejected" }, false);
  if (counted.parts_received < counted.parts) {
    return { kind: "loaded", snapshotKey: Number(snapshot.key), complete: false };
  }
  await completeSnapshot(tx, snapshot.key, at);
  return {
    kind: "loaded",
    snapshotKey: Number(snapshot.key),
    complete: true,
    completed: {
      key: Number(snapshot.key),
      id: part.snapshotId,
      client: part.client,
      system: part.system,
      takenAt: new Date(takenAt),
    },
  };
}

/**
 * The last part is in: refuse the snapshot when a SKU and location appear twice (never summed
 * silently: the owner is told which), else record its SKU count and content hash. Locations of
 * one SKU are summed; the hash is over what a run compares (SKU and summed quantity).
 */
async function completeSnapshot(tx: Tx, key: number, at: string): Promise<void> {
  // The duplicate check and the hash sort every line: in memory, not in 4 MB batches on disk.
  await tx.execute(sql`set local work_mem = '256MB'`);
  const duplicates = await tx.execute<{ sku: string; location: string; lines: number }>(sql`
    select sku, location, count(*)::int as lines from snapshot_items
    where snapshot_key = ${key}
    group by sku, location having count(*) > 1
    order by sku, location`);
  if (duplicates.length > 0) {
    const problem: SnapshotProblem = {
      code: "duplicate_skus",
      count: duplicates.length,
      listed: duplicates.slice(0, LISTED).map((row) => ({
        sku: row.sku,
        location: row.location,
        lines: Number(row.lines),
      })),
    };
    throw new PartRefused(problem, true);
  }
  await tx.execute(sql`
    update snapshots set state = 'complete', completed_at = ${at}::timestamptz,
      (sku_count, content_hash) = (
        select count(*), encode(sha256(convert_to(coalesce(
          string_agg(sku || E'\\t' || q::text, E'\\n' order by sku collate "C"), ''), 'UTF8')), 'hex')
        from (select sku, sum(quantity) as q from snapshot_items
              where snapshot_key = ${key} group by sku) as skus)
    where key = ${key}`);
}

/**
 * Closes a receiving snapshot for good with its reason and drops its items: no run may compare
 * it. False when it was not receiving (already closed or complete).
 */
export async function rejectSnapshot(db: Db, snapshotId: string, reason: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [closed] = await tx.execute<{ key: number }>(sql`
      update snapshots set state = 'rejected', reason = ${reason}
      where id = ${snapshotId} and state = 'receiving' returning key`);
    if (!closed) return false;
    await tx.execute(sql`delete from snapshot_items where snapshot_key = ${closed.key}`);
    return true;
  });
}

/** Snapshots still receiving whose first part came before `cutoff`: expired, items dropped. */
export async function expireSnapshots(
  db: Db,
  cutoff: Date,
  reason: string,
): Promise<{ id: string; client: string; system: string; partsReceived: number; parts: number }[]> {
  return db.transaction(async (tx) => {
    const expired = await tx.execute<{
      key: number;
      id: string;
      client: string;
      system: string;
      parts_received: number;
      parts: number;
    }>(sql`
      update snapshots set state = 'expired', reason = ${reason}
      where state = 'receiving' and first_part_at < ${cutoff.toISOString()}::timestamptz
      returning key, id, client, system, parts_received, parts`);
    if (expired.length > 0) {
      await tx.execute(sql`
        delete from snapshot_items
        where snapshot_key = any(${`{${expired.map((row) => row.key).join(",")}}`}::bigint[])`);
    }
    return expired.map((row) => ({
      id: row.id,
      client: row.client,
      system: row.system,
      partsReceived: row.parts_received,
      parts: row.parts,
    }));
  });
}
