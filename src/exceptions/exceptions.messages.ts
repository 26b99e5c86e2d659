/**
 * The sentences people read about exception changes: refusals at the Slack edge, and the notes
 * a change leaves in its card's thread. Services return codes and facts; this turns them into
 * words. Pure.
 */
import type { RootCause } from "../platform/db/schema.js";
import { assertNever } from "../platform/errors.js";
import { escapeMrkdwn, mention } from "../platform/slack/mrkdwn.js";
import { type ExceptionRow, exceptionLabel, ROOT_CAUSE_LABELS } from "./card.js";
import type { Refusal } from "./state-machine.js";

/** The one sentence for a person outside a role; `what` is what they tried ("act on EX-1"). */
export function outsiderMessage(role: string, what: string, unchanged = true): string {
  return `Only members of *${escapeMrkdwn(role)}* and its managers can ${what}.${unchanged ? " Nothing was changed." : ""}`;
}

export function notMemberMessage(userId: string, role: string): string {
  return `${mention(userId)} is not a member of *${escapeMrkdwn(role)}*.`;
}

export function notFoundMessage(exceptionId: number, here = true): string {
  return `I can't find ${exceptionLabel(exceptionId)}${here ? " here" : ""}.`;
}

/** Why a person's change was refused: the facts the service returns. */
export type ActRefusal =
  | { reason: "not_found"; exceptionId: number; here: boolean }
  | { reason: "outsider"; exceptionId: number; role: string }
  | { reason: "not_member"; userId: string; role: string }
  | { reason: "stale"; exceptionId: number; refusal: Refusal }
  /** The event's retry queue is not (or no longer) one the routing file allows. */
  | { reason: "retry_target"; exceptionId: number; problem: string };

/** What a person is told when their click or submission changed nothing. */
export function actRefusalMessage(refusal: ActRefusal): string {
  switch (refusal.reason) {
    case "not_found":
      return notFoundMessage(refusal.exceptionId, refusal.here);
    case "outsider":
      return outsiderMessage(refusal.role, `act on ${exceptionLabel(refusal.exceptionId)}`);
    case "not_member":
      return notMemberMessage(refusal.userId, refusal.role);
    case "stale":
      return refusalMessage(exceptionLabel(refusal.exceptionId), refusal.refusal);
    case "retry_target":
      return `I did not retry ${exceptionLabel(refusal.exceptionId)}: its retry queue ${escapeMrkdwn(refusal.problem)}. Nothing was queued.`;
    default:
      return assertNever(refusal);
  }
}

export function refusalMessage(label: string, refusal: Refusal): string {
  switch (refusal.reason) {
    case "already_claimed":
      return `${label} is already claimed by ${mention(refusal.by)}. Nothing was changed.`;
    case "already_resolved":
      return `${label} was already resolved${resolvedHow(refusal)}. Nothing was changed.`;
    case "not_claimed":
      return `${label} is not claimed by anyone, so there is nothing to hand over.`;
    case "held_by_other":
      return `${label} is held by ${mention(refusal.by)}. Ask them, or a manager of the role, to hand it over.`;
    case "retry_unavailable":
      return `${label} has no retry job: the producer did not say how to retry it.`;
    case "retry_in_progress":
      return `A retry of ${label} is already queued; wait for its result.`;
    case "not_retrying":
      return `${label} has no retry in flight.`;
    default:
      return assertNever(refusal);
  }
}

/** Who or what resolved it, for a person whose click came too late. */
function resolvedHow(refusal: { by: string | null; how?: string | null }): string {
  if (refusal.by) return ` by ${mention(refusal.by)}`;
  if (refusal.how === "retry") return ": its retry completed";
  if (refusal.how === "recovered") return ": a later sync of the SKU succeeded";
  return "";
}

export type NoteAction =
  | { kind: "claim"; reason?: string }
  | { kind: "unclaim"; reason?: string }
  | { kind: "reassign"; to: string; reason?: string }
  | { kind: "retry" }
  | { kind: "resolve"; rootCause: RootCause };

/** The thread note of a person's change (a display name: the note must not @-mention them). */
export function humanNote(
  actorName: string,
  action: NoteAction,
  row: Pick<ExceptionRow, "retryCount" | "retryJobId">,
): string {
  const who = `*${escapeMrkdwn(actorName)}*`;
  const reason = "reason" in action ? (action.reason ?? "") : "";
  const why = reason ? ` Why: ${escapeMrkdwn(reason.slice(0, 500))}` : "";
  switch (action.kind) {
    case "claim":
      return `:raising_hand: ${who} claimed this.${why}`;
    case "unclaim":
      return `:leftwards_arrow_with_hook: ${who} released this; it is open again.${why}`;
    case "reassign":
      return `:arrows_counterclockwise: ${who} handed this to ${mention(action.to)}.${why}`;
    case "retry":
      return `:repeat: ${who} queued retry #${row.retryCount} (job \`${row.retryJobId}\`).`;
    case "resolve":
      return `:white_check_mark: ${who} resolved this · root cause: ${ROOT_CAUSE_LABELS[action.rootCause]}.`;
    default:
      return assertNever(action);
  }
}

export type SignalNote =
  | { kind: "retry_succeeded" }
  | { kind: "retry_failed"; error: string }
  | { kind: "recovered"; detail?: Record<string, unknown> }
  /** `said`: the gate's own sentence (how late, P95 back under), already escaped. */
  | { kind: "gate_cleared"; said: string };

export function systemNote(
  signal: SignalNote,
  row: Pick<ExceptionRow, "retryCount" | "claimedBy">,
): string {
  switch (signal.kind) {
    case "retry_succeeded":
      return `:white_check_mark: Retry #${row.retryCount} completed; resolved automatically.`;
    case "retry_failed":
      return `:x: Retry #${row.retryCount} failed: ${escapeMrkdwn(signal.error.slice(0, 500))}. ${row.claimedBy ? `Back with ${mention(row.claimedBy)}.` : "Open again."}`;
    case "recovered":
      if (typeof signal.detail?.reconRunId === "number") {
        return `:white_check_mark: Reconciliation #${signal.detail.reconRunId} found this SKU matching its source of truth; resolved as recovered.`;
      }
      return ":white_check_mark: A later sync of this SKU succeeded; resolved as recovered.";
    case "gate_cleared":
      return `:white_check_mark: ${signal.said} Resolved as recovered.`;
    default:
      return assertNever(signal);
  }
}
