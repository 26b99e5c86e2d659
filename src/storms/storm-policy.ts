/**
 * The storm rules as pure functions of plain data and an injected "now": when a new fingerprint
 * forms or joins a storm, when a storm is over, and how its card updates and retries are paced.
 */
import type { Queryable } from "../platform/db/db.js";

export interface StormSettings {
  /** More than this many new fingerprints of one kind within the window form a storm. */
  threshold: number;
  /** How close new fingerprints must be; also the quiet time that ends a storm. */
  windowMs: number;
  /** Retry all queues one member's retry every this many milliseconds. */
  retryIntervalMs: number;
}

/**
 * What the rest of syncdesk sees of storms, hung on `deps.storms` (built by storm-desk.ts):
 * the settings intake needs to group new fingerprints, the hook that schedules a storm's end
 * from inside the forming transaction, and the hook a member's change calls, in its
 * transaction, for the storm card. Declared here, beside the settings, so `Deps` can name it
 * without importing storm code that imports `Deps`.
 */
export interface StormDesk {
  settings: StormSettings;
  /** Schedules the quiet-window check. Called inside the transaction that formed the storm. */
  scheduleEndCheck(stormId: number, dueAt: Date): Promise<void>;
  /**
   * A member changed: post the storm card if it has none yet, else redraw it (coalesced).
   * Pass the change's transaction: the card's outbox row commits with it.
   */
  memberChanged(db: Queryable, stormId: number): Promise<void>;
}

export type StormDecision = { kind: "join"; stormId: number } | { kind: "form" } | { kind: "none" };

/**
 * A new fingerprint joins the open storm of its kind; without one, it forms a storm when it is
 * one more than the threshold of new fingerprints in the window (itself included).
 */
export function decideStorm(input: {
  openStormId: number | null;
  newInWindow: number;
  threshold: number;
}): StormDecision {
  if (input.openStormId !== null) return { kind: "join", stormId: input.openStormId };
  return input.newInWindow > input.threshold ? { kind: "form" } : { kind: "none" };
}

/** New fingerprints count towards a storm when they arrived after this moment. */
export function windowStart(now: Date, windowMs: number): Date {
  return new Date(now.getTime() - windowMs);
}

export type QuietCheck = { quiet: true } | { quiet: false; dueAt: Date };

/** A storm is over once no new member arrived for a whole window; else check again at dueAt. */
export function quietCheck(input: { lastMemberAt: Date; windowMs: number; now: Date }): QuietCheck {
  const dueAt = new Date(input.lastMemberAt.getTime() + input.windowMs);
  return input.now.getTime() >= dueAt.getTime() ? { quiet: true } : { quiet: false, dueAt };
}

/**
 * Card updates are coalesced into slots of `everyMs`: every change in one slot asks for the same
 * update, which runs just after the slot closes and renders whatever the rows say then. The
 * margin keeps a change committed at the very end of a slot inside that slot's render.
 */
export function coalesceSlot(
  now: Date,
  everyMs: number,
  marginMs = 50,
): { slot: number; delayMs: number } {
  const slot = Math.floor(now.getTime() / everyMs);
  return { slot, delayMs: (slot + 1) * everyMs - now.getTime() + marginMs };
}

/** The delay of the n-th (0-based) paced retry. */
export function retryDelay(index: number, intervalMs: number): number {
  return index * intervalMs;
}
