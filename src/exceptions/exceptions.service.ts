/**
 * What a click or a system signal does to an exception: lock the row, ask the state machine,
 * write the change and its audit row in one transaction, then tell Slack. Expected refusals
 * (stale card, someone else holds it, not allowed) come back as values with a sentence.
 */
import { eq } from "drizzle-orm";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.js";
import type { FailureEvent } from "../intake/failure-event.schema.js";
import { homeChanged } from "../inventory/home.service.js";
import type { Tx } from "../platform/db/db.js";
import { exceptions, type RootCause } from "../platform/db/schema.js";
import type { Deps } from "../platform/deps.js";
import { assertNever } from "../platform/errors.js";
import { metrics } from "../platform/metrics.js";
import { escapeMrkdwn, mention } from "../platform/slack/mrkdwn.js";
import { armSla } from "../sla/sla-timers.js";
import { standingIn } from "./authorization.js";
import { type ExceptionRow, exceptionLabel, ROOT_CAUSE_LABELS } from "./card.js";
import { cardChanged, queueCardSync, queueThreadNote } from "./cards.js";
import { type Action, type Holding, type Refusal, transition } from "./state-machine.js";

export type HumanAction =
  | { kind: "claim" }
  | { kind: "unclaim" }
  | { kind: "reassign"; to: string }
  | { kind: "retry" }
  | { kind: "resolve"; note: string; rootCause: RootCause };

export interface Actor {
  userId: string;
  /** Display name for thread notes, which must not @-mention the person who acted. */
  name: string;
}

export type ActResult =
  | { ok: true; row: ExceptionRow }
  | { ok: false; code: "not_found" | "forbidden" | "stale"; message: string };

export interface ActInput {
  exceptionId: number;
  actor: Actor;
  action: HumanAction;
  /** The channel the click came from, when it came from a card in a channel. */
  expectedChannel?: string;
}

/**
 * The whole of one click. The card refresh, the thread note and a storm member's storm card
 * are queued in the change's own transaction (Slack outbox): they go out when Slack answers,
 * in order, once each, so nothing is left to announce after the commit.
 */
export async function actOnException(deps: Deps, input: ActInput): Promise<ActResult> {
  return changeException(deps, input);
}

/** The checks and the transaction (a modal acks after it). */
export async function changeException(deps: Deps, input: ActInput): Promise<ActResult> {
  const { exceptionId, actor, action } = input;
  const label = exceptionLabel(exceptionId);
  const [found] = await deps.db.select().from(exceptions).where(eq(exceptions.id, exceptionId));
  // A button value is untrusted: the exception must be the one whose card was clicked.
  if (!found || (input.expectedChannel && found.channel !== input.expectedChannel)) {
    return { ok: false, code: "not_found", message: `I can't find ${label} here.` };
  }
  const { standing } = await standingIn(deps, found.role, actor.userId);
  if (standing === "outsider") {
    return {
      ok: false,
      code: "forbidden",
      message: `Only members of *${escapeMrkdwn(found.role)}* and its managers can act on ${label}. Nothing was changed.`,
    };
  }
  if (action.kind === "reassign") {
    const target = await standingIn(deps, found.role, action.to);
    if (target.standing === "outsider") {
      return {
        ok: false,
        code: "forbidden",
        message: `${mention(action.to)} is not a member of *${escapeMrkdwn(found.role)}*.`,
      };
    }
  }
  const machineAction = {
    ...action,
    actor: actor.userId,
    isManager: standing === "manager",
  } as Action;

  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx): Promise<ActResult> => {
    const row = await lockException(tx, exceptionId);
    if (!row) return { ok: false, code: "not_found", message: `I can't find ${label}.` };
    const outcome = transition(holding(row), machineAction);
    if (!outcome.ok) return { ok: false, code: "stale", message: refusalMessage(label, outcome) };
    const { change } = outcome;
    const patch: Partial<ExceptionRow> = {
      state: change.state,
      claimedBy: change.claimedBy,
      retryCount: change.retryCount,
      updatedAt: now,
    };
    if (change.claimedBy !== row.claimedBy) patch.claimedAt = change.claimedBy ? now : null;
    if (change.claimedBy && !row.firstClaimedAt) patch.firstClaimedAt = now;
    let expectedOutcome: string | null = null;
    if (action.kind === "retry") {
      const event = row.latestEvent as FailureEvent;
      if (!event.retry) throw new Error("retry offered without a retry spec");
      const jobId = retryJobId(row.id, change.retryCount);
      Object.assign(patch, {
        retryJobId: jobId,
        retryQueue: event.retry.queue,
        retryRequestedBy: actor.userId,
        lastRetryError: null,
      });
      expectedOutcome = `retry job ${jobId} on ${event.retry.queue} completes and the exception resolves`;
      // Queued inside the transaction: if the enqueue fails, the state does not change. The
      // job id is deterministic, so a repeat of this step cannot queue the retry twice.
      await deps.queues.external(event.retry.queue).add(
        event.retry.name,
        {
          ...event.retry.data,
          syncdesk: {
            exceptionId: row.id,
            retryNumber: change.retryCount,
            requestedBy: actor.userId,
          },
        },
        { jobId, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } },
      );
    }
    if (action.kind === "resolve") {
      Object.assign(patch, {
        resolution: "manual",
        resolvedBy: actor.userId,
        resolvedAt: now,
        resolutionNote: action.note,
        rootCause: action.rootCause,
      });
    }
    const [updated] = await tx
      .update(exceptions)
      .set(patch)
      .where(eq(exceptions.id, row.id))
      .returning();
    await recordAudit(tx, {
      exceptionId: row.id,
      actor: actor.userId,
      source: "slack",
      action: action.kind,
      stateBefore: row.state,
      stateAfter: change.state,
      note: action.kind === "resolve" ? action.note : null,
      expectedOutcome,
      details: auditDetails(action, row),
      at: now,
    });
    // Slack hears of it through the outbox, committed with the change or not at all.
    await queueCardSync(tx, row.id);
    await queueThreadNote(
      tx,
      updated as ExceptionRow,
      humanNote(actor, action, updated as ExceptionRow),
    );
    await cardChanged(deps, row, tx);
    return { ok: true, row: updated as ExceptionRow };
  });
  if (result.ok) {
    metrics.actions.inc({ kind: action.kind, actor: "human" });
    if (action.kind === "retry") metrics.retries.inc({ outcome: "queued" });
    // SLA timers follow every committed change (claim cancels nudges, resolve cancels all).
    await armSla(deps, exceptionId);
    await redrawHomes(deps, result.row);
  }
  return result;
}

export type SystemSignal =
  | { kind: "retry_succeeded" }
  | { kind: "retry_failed"; error: string }
  | { kind: "recovered"; detail: Record<string, unknown> };

/** Applies what BullMQ or a producer reported; a signal that no longer applies changes nothing. */
export async function applySignal(
  deps: Deps,
  input: { exceptionId: number; signal: SystemSignal; source: string },
): Promise<ExceptionRow | null> {
  const { signal } = input;
  const now = deps.clock.now();
  const updated = await deps.db.transaction(async (tx) => {
    const row = await lockException(tx, input.exceptionId);
    if (!row) return null;
    const outcome = transition(
      holding(row),
      signal.kind === "retry_failed" ? signal : { kind: signal.kind },
    );
    if (!outcome.ok) return null;
    const { change } = outcome;
    const patch: Partial<ExceptionRow> = {
      state: change.state,
      claimedBy: change.claimedBy,
      updatedAt: now,
    };
    if (change.state === "resolved") {
      Object.assign(patch, { resolution: change.resolution, resolvedBy: null, resolvedAt: now });
    }
    if (signal.kind === "retry_failed") patch.lastRetryError = signal.error.slice(0, 2000);
    const [next] = await tx
      .update(exceptions)
      .set(patch)
      .where(eq(exceptions.id, row.id))
      .returning();
    await recordAudit(tx, {
      exceptionId: row.id,
      actor: SYSTEM_ACTOR,
      source: input.source,
      action: signal.kind === "retry_succeeded" ? "auto_resolved" : signal.kind,
      stateBefore: row.state,
      stateAfter: change.state,
      note: signal.kind === "retry_failed" ? signal.error.slice(0, 2000) : null,
      details: {
        retryNumber: row.retryCount,
        retryJobId: row.retryJobId,
        ...(signal.kind === "recovered" ? signal.detail : {}),
      },
      at: now,
    });
    await queueCardSync(tx, row.id);
    await queueThreadNote(tx, next as ExceptionRow, systemNote(signal, next as ExceptionRow));
    await cardChanged(deps, row, tx);
    return next as ExceptionRow;
  });
  if (updated) {
    metrics.actions.inc({ kind: signal.kind, actor: "system" });
    if (signal.kind === "retry_succeeded") metrics.retries.inc({ outcome: "succeeded" });
    if (signal.kind === "retry_failed") metrics.retries.inc({ outcome: "failed" });
    await armSla(deps, updated.id);
    await redrawHomes(deps, updated);
  }
  return updated;
}

/** The role's Home tabs follow a committed change; a Redis refusal costs a redraw, not the change. */
export async function redrawHomes(deps: Deps, row: { role: string }): Promise<void> {
  await homeChanged(deps, row).catch((error: unknown) =>
    deps.logger.warn({ role: row.role, err: error }, "could not queue a Home tab redraw"),
  );
}

export function retryJobId(exceptionId: number, retryNumber: number): string {
  return `syncdesk-retry-${exceptionId}-${retryNumber}`;
}

/**
 * `FOR NO KEY UPDATE`, not `FOR UPDATE`: it still serializes changes of one exception, but lets
 * another transaction's foreign-key check (an outbox or audit row naming this exception, which
 * takes KEY SHARE) through. With `FOR UPDATE` a click and a concurrent outbox insert for the
 * same card deadlocked, and the click was lost.
 */
async function lockException(tx: Tx, id: number): Promise<ExceptionRow | undefined> {
  const [row] = await tx
    .select()
    .from(exceptions)
    .where(eq(exceptions.id, id))
    .for("no key update");
  return row;
}

/** What the state machine needs to know of a row. */
export function holding(row: ExceptionRow): Holding {
  return {
    state: row.state,
    claimedBy: row.claimedBy,
    retryCount: row.retryCount,
    canRetry: Boolean((row.latestEvent as FailureEvent).retry),
    resolvedBy: row.resolvedBy,
    resolution: row.resolution,
  };
}

export function auditDetails(
  action: HumanAction,
  row: ExceptionRow,
): Record<string, unknown> | null {
  switch (action.kind) {
    case "reassign":
      return { from: row.claimedBy, to: action.to };
    case "resolve":
      return { rootCause: action.rootCause };
    case "unclaim":
      return { from: row.claimedBy };
    case "claim":
    case "retry":
      return null;
    default:
      return assertNever(action);
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

export function humanNote(actor: Actor, action: HumanAction, row: ExceptionRow): string {
  const who = `*${escapeMrkdwn(actor.name)}*`;
  switch (action.kind) {
    case "claim":
      return `:raising_hand: ${who} claimed this.`;
    case "unclaim":
      return `:leftwards_arrow_with_hook: ${who} released this; it is open again.`;
    case "reassign":
      return `:arrows_counterclockwise: ${who} handed this to ${mention(action.to)}.`;
    case "retry":
      return `:repeat: ${who} queued retry #${row.retryCount} (job \`${row.retryJobId}\`).`;
    case "resolve":
      return `:white_check_mark: ${who} resolved this · root cause: ${ROOT_CAUSE_LABELS[action.rootCause]}.`;
    default:
      return assertNever(action);
  }
}

function systemNote(signal: SystemSignal, row: ExceptionRow): string {
  switch (signal.kind) {
    case "retry_succeeded":
      return `:white_check_mark: Retry #${row.retryCount} completed; resolved automatically.`;
    case "retry_failed":
      return `:x: Retry #${row.retryCount} failed: ${escapeMrkdwn(signal.error.slice(0, 500))}. ${row.claimedBy ? `Back with ${mention(row.claimedBy)}.` : "Open again."}`;
    case "recovered":
      return ":white_check_mark: A later sync of this SKU succeeded; resolved as recovered.";
    default:
      return assertNever(signal);
  }
}
