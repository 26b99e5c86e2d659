/**
 * What the rest of syncdesk hangs on the exception seam (src/exceptions/change.ts), registered
 * by the composition root (src/app/create-deps.ts): the pure SLA deadline of a row, the storm
 * card redraw inside the change's transaction, and the work that runs once a change committed
 * (SLA timers, Home tabs). Types only, so `exceptions/` names no feature above it.
 */
import type { Queryable } from "../platform/db/db.js";
import type { RoutingConfig } from "../routing/routing-file.schema.js";
import type { ExceptionRow } from "./card.js";

/** One exception change, as committed. */
export interface CommittedChange {
  /** The audit action that recorded it (claim, opened, sla_breached, rerouted, …). */
  action: string;
  /** The row before the change; null when the change opened it. */
  before: ExceptionRow | null;
  /** The row as the change's transaction wrote it. */
  row: ExceptionRow;
  /** Whether the role's Home tabs show this change (a skipped nudge does not). */
  redrawHomes: boolean;
}

/** Runs after the commit; a failure is logged and never undoes the change. */
export type AfterCommitHook = (changes: readonly CommittedChange[]) => Promise<void>;

export interface ExceptionEffects {
  /**
   * The deadline of the next SLA step of a row as a change leaves it (pure: the SLA policy of
   * the active routing, or of `config` while a routing version is being activated), written in
   * the change's own UPDATE as `next_deadline_at`.
   */
  nextDeadline(row: ExceptionRow, config?: RoutingConfig): Date | null;
  /** A storm member changed: its storm's card is redrawn (an outbox row in the same transaction). */
  stormChanged(db: Queryable, stormId: number): Promise<void>;
  /** In order, once per committed transaction, with every change it made. */
  afterCommit: readonly AfterCommitHook[];
  /**
   * An ephemeral list (`/inventory mine`) drawn again for the person who clicked in it, given
   * the clicked block's id; null when the block is not in a list this can redraw.
   */
  redrawList?(userId: string, blockId: string): Promise<{ text: string; blocks: object[] } | null>;
}

/** No SLA, no storms, nothing after commit: for tools and tests that only read. */
export const NO_EFFECTS: ExceptionEffects = {
  nextDeadline: () => null,
  stormChanged: async () => {},
  afterCommit: [],
};
