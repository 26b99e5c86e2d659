/**
 * The exception life cycle as a pure function: open -> claimed -> retrying -> resolved, with
 * reopen handled by intake (a new episode). Every human and system action goes through
 * `transition`, which says what the row becomes or why nothing changes.
 */
import type { ExceptionState, Resolution, RootCause } from "../platform/db/schema.js";
import { assertNever } from "../platform/errors.js";

export interface Holding {
  state: ExceptionState;
  claimedBy: string | null;
  retryCount: number;
  canRetry: boolean;
  resolvedBy: string | null;
  /** How it was resolved, so a stale click can be told (absent: not known). */
  resolution?: Resolution | null;
}

export type Action =
  | { kind: "claim"; actor: string }
  | { kind: "unclaim"; actor: string; isManager: boolean }
  | { kind: "reassign"; actor: string; isManager: boolean; to: string }
  | { kind: "retry"; actor: string; isManager: boolean }
  | { kind: "resolve"; actor: string; isManager: boolean; note: string; rootCause: RootCause }
  | { kind: "retry_succeeded" }
  | { kind: "retry_failed"; error: string }
  | { kind: "recovered" }
  /** A latency gate's cause went away (the late delivery arrived, the pipeline delivers again). */
  | { kind: "gate_cleared" };

export type Refusal =
  | { reason: "already_claimed"; by: string }
  | { reason: "already_resolved"; by: string | null; how?: Resolution | null }
  | { reason: "not_claimed" }
  | { reason: "held_by_other"; by: string }
  | { reason: "retry_unavailable" }
  | { reason: "retry_in_progress" }
  | { reason: "not_retrying" };

export interface Change {
  state: ExceptionState;
  claimedBy: string | null;
  retryCount: number;
  resolution?: Resolution;
  resolvedBy?: string | null;
}

export type Outcome = { ok: true; change: Change } | ({ ok: false } & Refusal);

export function transition(current: Holding, action: Action): Outcome {
  const refuse = (refusal: Refusal): Outcome => ({ ok: false, ...refusal });
  const change = (next: Partial<Change>): Outcome => ({
    ok: true,
    change: {
      state: current.state,
      claimedBy: current.claimedBy,
      retryCount: current.retryCount,
      ...next,
    },
  });

  if (current.state === "resolved") {
    // A late retry result or recovery after someone resolved by hand changes nothing.
    return refuse({
      reason: "already_resolved",
      by: current.resolvedBy,
      how: current.resolution ?? null,
    });
  }

  switch (action.kind) {
    case "claim":
      if (current.claimedBy === action.actor)
        return refuse({ reason: "already_claimed", by: action.actor });
      if (current.claimedBy) return refuse({ reason: "already_claimed", by: current.claimedBy });
      return change({
        claimedBy: action.actor,
        state: current.state === "open" ? "claimed" : current.state,
      });
    case "unclaim":
      if (!current.claimedBy) return refuse({ reason: "not_claimed" });
      if (heldByOther(current, action))
        return refuse({ reason: "held_by_other", by: current.claimedBy });
      return change({
        claimedBy: null,
        state: current.state === "claimed" ? "open" : current.state,
      });
    case "reassign":
      if (!current.claimedBy) {
        // A manager may hand unclaimed work to a member (from a breach DM); others claim it.
        if (!action.isManager) return refuse({ reason: "not_claimed" });
        return change({
          claimedBy: action.to,
          state: current.state === "open" ? "claimed" : current.state,
        });
      }
      if (heldByOther(current, action))
        return refuse({ reason: "held_by_other", by: current.claimedBy });
      return change({ claimedBy: action.to });
    case "retry":
      if (!current.canRetry) return refuse({ reason: "retry_unavailable" });
      if (current.state === "retrying") return refuse({ reason: "retry_in_progress" });
      if (heldByOther(current, action))
        return refuse({ reason: "held_by_other", by: current.claimedBy ?? "" });
      return change({ state: "retrying", retryCount: current.retryCount + 1 });
    case "resolve":
      if (heldByOther(current, action))
        return refuse({ reason: "held_by_other", by: current.claimedBy ?? "" });
      return change({ state: "resolved", resolution: "manual", resolvedBy: action.actor });
    case "retry_succeeded":
      if (current.state !== "retrying") return refuse({ reason: "not_retrying" });
      return change({ state: "resolved", resolution: "retry", resolvedBy: null });
    case "retry_failed":
      if (current.state !== "retrying") return refuse({ reason: "not_retrying" });
      // Back to whoever held it before the retry; unclaimed work goes back to the queue.
      return change({ state: current.claimedBy ? "claimed" : "open" });
    case "recovered":
      return change({ state: "resolved", resolution: "recovered", resolvedBy: null });
    case "gate_cleared":
      // Whoever holds it, like a recovery: the gate measured that the cause is gone.
      return change({ state: "resolved", resolution: "recovered", resolvedBy: null });
    default:
      return assertNever(action);
  }
}

/** Someone else holds it and the actor is not a manager, who may act on any card of the role. */
function heldByOther(current: Holding, action: { actor: string; isManager: boolean }): boolean {
  return current.claimedBy !== null && current.claimedBy !== action.actor && !action.isManager;
}
