/**
 * The one door through which an exception changes: clicks, retry results and recoveries, bulk
 * resolves, SLA steps, routing moves and intake's open, reopen and occurrence all come here.
 *
 * In one transaction the seam locks the rows (id order, `FOR NO KEY UPDATE`), lets the caller's
 * pure step decide each one (usually `transition()` of state-machine.ts), and writes the row
 * with its next SLA deadline (the pure policy, registered as `exceptionEffects.nextDeadline`),
 * the audit entry (who, what, why, expected outcome), and the outbox rows that show the change
 * in Slack: the card, a note in its thread, the storm card of a member. Once the transaction
 * commits, and only then, the composition root's after-commit hooks run (SLA timers, Home
 * tabs); a failing hook is logged and never undoes the change.
 *
 * graphile/worker's `addJob` inside the caller's transaction is the model: `openChangeUnit`
 * joins a transaction someone else runs (a routing activation), and that caller hands the
 * unit's changes to `runAfterCommit` once it committed.
 */
import { asc, eq, type SQL, sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { type AuditEntry, recordAudits } from "../audit/audit.js";
import type { Tx } from "../platform/db/db.js";
import { exceptions } from "../platform/db/schema.js";
import { enqueueOutbox, type OutboxEntry } from "../platform/slack/outbox.repo.js";
import type { MessageInput } from "../platform/slack/outbox-message.js";
import type { RoutingConfig } from "../routing/routing-file.schema.js";
import type { ExceptionRow } from "./card.js";
import { cardEntries } from "./cards.js";
import type { CommittedChange } from "./effects.js";

export type ChangeDeps = Pick<Deps, "db" | "logger" | "exceptionEffects">;

/** What one change does to one row, as decided from the locked row. */
export interface RowChange {
  /** The columns to write; `nextDeadlineAt` is computed by the seam from the result. */
  patch: Partial<ExceptionRow>;
  /** The audit entry; the exception and (unless given) the states before and after are filled in. */
  audit: Omit<AuditEntry, "exceptionId" | "rejectedEventId">;
  /** A note in the card's thread (none for a storm member without a card of its own). */
  note?: string | MessageInput | null;
  /** Refresh the card (default true). */
  card?: boolean;
  /** Redraw a member's storm card (default true). */
  stormCard?: boolean;
  /** Redraw the role's Home tabs after commit (default true). */
  redrawHomes?: boolean;
  /** More outbox rows of the same change (SLA notices, a moved card's last words). */
  outbox?: (tx: Tx, row: ExceptionRow) => Promise<void>;
}

export type Decided<F, R> = { ok: true; change: RowChange; facts: F } | { ok: false; refusal: R };
export type Decide<F, R> = (row: ExceptionRow, tx: Tx) => Decided<F, R> | Promise<Decided<F, R>>;

/** A refusal of null: the exception does not exist. */
export type ChangeResult<F, R> =
  | { ok: true; before: ExceptionRow; row: ExceptionRow; facts: F }
  | { ok: false; refusal: R | null };

export interface ManyResult<F, R> {
  changed: { before: ExceptionRow; row: ExceptionRow; facts: F }[];
  refused: { exceptionId: number; refusal: R | null }[];
}

/** The seam inside one transaction; collects what it committed for `runAfterCommit`. */
export interface ChangeUnit {
  readonly tx: Tx;
  readonly committed: readonly CommittedChange[];
  change<F, R>(exceptionId: number, decide: Decide<F, R>): Promise<ChangeResult<F, R>>;
  /** Many rows in one go: one UPDATE per distinct patch, one audit insert, one outbox insert. */
  changeMany<F, R>(
    exceptionIds: readonly number[],
    decide: Decide<F, R>,
  ): Promise<ManyResult<F, R>>;
  /**
   * A row the caller wrote itself (intake's upsert): the seam stores its deadline and writes
   * the audit entry and the outbox rows, as for any other change.
   */
  record(
    exceptionId: number,
    change: Omit<RowChange, "patch">,
    options?: { opened?: boolean },
  ): Promise<ExceptionRow>;
  /** `record` for many rows at once (a batch of intake): one read, one audit insert, one outbox insert. */
  recordMany(entries: readonly RecordEntry[]): Promise<ExceptionRow[]>;
}

/** One row for `recordMany`. */
export interface RecordEntry {
  exceptionId: number;
  change: Omit<RowChange, "patch">;
  /** The change opened the row: the hooks are told it had no state before. */
  opened?: boolean;
  /** Audit entries after the change's own, of the same row (repeats folded into one batch). */
  moreAudits?: readonly RowChange["audit"][];
  /** The trace its card's Slack calls continue (a batch's event's own); unset: the active one. */
  trace?: string | null;
}

/** Changes one exception in a transaction of its own, then runs the after-commit hooks. */
export async function changeException<F, R>(
  deps: ChangeDeps,
  exceptionId: number,
  decide: Decide<F, R>,
): Promise<ChangeResult<F, R>> {
  return inChangeTransaction(deps, (unit) => unit.change(exceptionId, decide));
}

/** Runs `work` in one transaction with the seam; after commit, the hooks see its changes. */
export async function inChangeTransaction<T>(
  deps: ChangeDeps,
  work: (unit: ChangeUnit) => Promise<T>,
): Promise<T> {
  let unit: ChangeUnit | undefined;
  const result = await deps.db.transaction((tx) => {
    unit = openChangeUnit(deps, tx);
    return work(unit);
  });
  if (unit) await runAfterCommit(deps, unit.committed);
  return result;
}

/** The seam in a transaction the caller runs; call `runAfterCommit` once it committed. */
export function openChangeUnit(
  deps: ChangeDeps,
  tx: Tx,
  options: {
    /** The routing the deadlines follow, when it is not the active one yet (an activation). */
    config?: RoutingConfig;
  } = {},
): ChangeUnit {
  const committed: CommittedChange[] = [];
  const write = (items: Item[]) => writeChanges(deps, tx, items, committed, options.config);
  return {
    tx,
    committed,
    async change(exceptionId, decide) {
      const many = await this.changeMany([exceptionId], decide);
      const [done] = many.changed;
      if (done) return { ok: true, ...done };
      return { ok: false, refusal: many.refused[0]?.refusal ?? null };
    },
    async changeMany<F, R>(exceptionIds: readonly number[], decide: Decide<F, R>) {
      const result: ManyResult<F, R> = { changed: [], refused: [] };
      if (exceptionIds.length === 0) return result;
      const locked = await lockExceptions(tx, exceptionIds);
      const found = new Set(locked.map((row) => row.id));
      for (const id of exceptionIds) {
        if (!found.has(id)) result.refused.push({ exceptionId: id, refusal: null });
      }
      const items: Item[] = [];
      const facts = new Map<number, F>();
      for (const row of locked) {
        const decided = await decide(row, tx);
        if (!decided.ok) result.refused.push({ exceptionId: row.id, refusal: decided.refusal });
        else {
          items.push({ before: row, change: decided.change });
          facts.set(row.id, decided.facts);
        }
      }
      for (const { before, row } of await write(items)) {
        result.changed.push({ before, row, facts: facts.get(row.id) as F });
      }
      return result;
    },
    async record(exceptionId, change, options = {}) {
      const [row] = await this.recordMany([{ exceptionId, change, opened: options.opened }]);
      return row as ExceptionRow;
    },
    async recordMany(entries) {
      if (entries.length === 0) return [];
      const ids = [...new Set(entries.map((entry) => entry.exceptionId))];
      const rows = await tx.select().from(exceptions).where(idIn(ids));
      const byId = new Map(rows.map((row) => [row.id, row]));
      const items = entries.map((entry): Item => {
        const row = byId.get(entry.exceptionId);
        if (!row) {
          throw new Error(`exception ${entry.exceptionId} vanished inside its own transaction`);
        }
        const item: Item = { before: row, change: { ...entry.change, patch: {} } };
        if (entry.opened) item.reported = null;
        if (entry.moreAudits?.length) item.moreAudits = entry.moreAudits;
        if (entry.trace !== undefined) item.trace = entry.trace;
        return item;
      });
      return (await write(items)).map((written) => written.row);
    },
  };
}

/** Runs the registered hooks over committed changes; each failure is logged, none thrown. */
export async function runAfterCommit(
  deps: ChangeDeps,
  changes: readonly CommittedChange[],
): Promise<void> {
  if (changes.length === 0) return;
  for (const hook of deps.exceptionEffects.afterCommit) {
    try {
      await hook(changes);
    } catch (error) {
      deps.logger.warn(
        { err: error, exceptionIds: changes.map((change) => change.row.id).slice(0, 20) },
        "after-commit work of an exception change failed; the change stands",
      );
    }
  }
}

/**
 * `FOR NO KEY UPDATE`, not `FOR UPDATE`: it still serializes changes of one exception, but lets
 * another transaction's foreign-key check (an outbox or audit row naming this exception, which
 * takes KEY SHARE) through. With `FOR UPDATE` a click and a concurrent outbox insert for the
 * same card deadlocked, and the click was lost. Id order: two batches never wait in a ring.
 */
async function lockExceptions(tx: Tx, ids: readonly number[]): Promise<ExceptionRow[]> {
  return tx
    .select()
    .from(exceptions)
    .where(idIn(ids))
    .orderBy(asc(exceptions.id))
    .for("no key update");
}

/**
 * `id` is one of `ids`, as one JSON parameter: the statement text does not grow with the list,
 * so it is prepared once per connection (one round trip, no parse), however many rows.
 */
function idIn(ids: readonly number[]): SQL {
  if (ids.length === 1) return eq(exceptions.id, ids[0] as number);
  return sql`${exceptions.id} in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::bigint)`;
}

interface Item {
  /** The row as locked (or, for `record`, as the caller wrote it). */
  before: ExceptionRow;
  /** What the hooks are told the row was before; `record` passes null for an opening. */
  reported?: ExceptionRow | null;
  change: RowChange;
  /** More audit rows of the same row, after the change's own (`recordMany`). */
  moreAudits?: readonly RowChange["audit"][];
  /** The trace of its outbox rows (`recordMany`); unset: the active one. */
  trace?: string | null;
}

async function writeChanges(
  deps: ChangeDeps,
  tx: Tx,
  items: Item[],
  committed: CommittedChange[],
  config: RoutingConfig | undefined,
): Promise<{ before: ExceptionRow; row: ExceptionRow }[]> {
  if (items.length === 0) return [];
  // Rows that get the same columns share one UPDATE (a bulk resolve: one per batch).
  const groups = new Map<string, { set: Partial<ExceptionRow>; ids: number[] }>();
  for (const { before, change } of items) {
    const deadline = deps.exceptionEffects.nextDeadline({ ...before, ...change.patch }, config);
    const set = changedColumns(before, { ...change.patch, nextDeadlineAt: deadline });
    if (Object.keys(set).length === 0) continue;
    const key = JSON.stringify(set);
    const group = groups.get(key) ?? { set, ids: [] };
    group.ids.push(before.id);
    groups.set(key, group);
  }
  const written = new Map<number, ExceptionRow>();
  for (const { set, ids } of groups.values()) {
    const rows = await tx.update(exceptions).set(set).where(idIn(ids)).returning();
    for (const row of rows) written.set(row.id, row);
  }
  const done = items.map((item) => ({ ...item, row: written.get(item.before.id) ?? item.before }));
  // The audit insert and the outbox rows go out together (pipelined on the transaction's
  // connection: one wait, not two); neither reads what the other writes.
  const audits = recordAudits(
    tx,
    done.flatMap(({ before, reported, row, change, moreAudits = [] }) => [
      {
        stateBefore: reported === undefined ? before.state : (reported?.state ?? null),
        stateAfter: row.state,
        ...change.audit,
        exceptionId: row.id,
      },
      ...moreAudits.map((audit) => ({
        stateBefore: row.state,
        stateAfter: row.state,
        ...audit,
        exceptionId: row.id,
      })),
    ]),
  );
  const outbox = (async () => {
    // The change's own rows first (a moved card's last words go out before its new card).
    for (const { row, change } of done) await change.outbox?.(tx, row);
    const entries: OutboxEntry[] = done.flatMap(({ row, change, trace }) =>
      cardEntries(row, { card: change.card ?? true, note: change.note }).map((entry) =>
        trace === undefined ? entry : { ...entry, traceContext: trace },
      ),
    );
    await enqueueOutbox(tx, entries);
  })();
  // Both settle before a failure is thrown: nothing may still be sent once it rolls back.
  for (const settled of await Promise.allSettled([audits, outbox])) {
    if (settled.status === "rejected") throw settled.reason;
  }
  // Last: a storm card's pending outbox row stays locked until this transaction ends.
  const storms = new Set<number>();
  for (const { before, row, change } of done) {
    const stormId = row.stormId ?? before.stormId;
    if (stormId !== null && change.stormCard !== false) storms.add(stormId);
  }
  for (const stormId of storms) await deps.exceptionEffects.stormChanged(tx, stormId);
  for (const { before, reported, row, change } of done) {
    committed.push({
      action: change.audit.action,
      before: reported === undefined ? before : reported,
      row,
      redrawHomes: change.redrawHomes ?? true,
    });
  }
  return done.map(({ before, row }) => ({ before, row }));
}

/** The columns of `patch` whose values differ from the row's, so equal changes share a statement. */
function changedColumns(row: ExceptionRow, patch: Partial<ExceptionRow>): Partial<ExceptionRow> {
  const set: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(patch)) {
    const was = (row as Record<string, unknown>)[column];
    const same =
      value instanceof Date && was instanceof Date
        ? value.getTime() === was.getTime()
        : JSON.stringify(value) === JSON.stringify(was);
    if (!same && value !== undefined) set[column] = value;
  }
  return set as Partial<ExceptionRow>;
}
