/**
 * What a click or a system signal does to an exception: check who may act, then one call to
 * the change seam (change.ts) whose pure step is `transition()`. Expected refusals (stale card,
 * someone else holds it, not allowed) come back as values; the sentences are
 * exceptions.messages.ts's.
 */
import type { Deps } from "../app/deps.js";
import { SYSTEM_ACTOR } from "../audit/audit.js";
import type { RootCause } from "../platform/db/schema.js";
import { assertNever } from "../platform/errors.js";
import { metrics } from "../platform/metrics.js";
import { activeTraceparent, inSpan, tracingActive } from "../platform/tracing.js";
import { retryTargetProblem } from "../retries/retry-target.js";
import { standingIn } from "./authorization.js";
import type { ExceptionRow } from "./card.js";
import { changeException, type Decided, type RowChange } from "./change.js";
import { type ActRefusal, humanNote, systemNote } from "./exceptions.messages.js";
import { findException, traceContextOf } from "./exceptions.repo.js";
import { type Action, type Holding, type Refusal, transition } from "./state-machine.js";

export type { ActRefusal };

export type HumanAction =
  /** `reason`: why, optional, kept in the audit and said in the thread (hand-offs). */
  | { kind: "claim"; reason?: string }
  | { kind: "unclaim"; reason?: string }
  | { kind: "reassign"; to: string; reason?: string }
  | { kind: "retry" }
  | { kind: "resolve"; note: string; rootCause: RootCause };

export interface Actor {
  userId: string;
  /** Display name for thread notes, which must not @-mention the person who acted. */
  name: string;
}

export type ActResult =
  | { ok: true; row: ExceptionRow }
  | { ok: false; code: "not_found" | "forbidden" | "stale"; refusal: ActRefusal };

const refuse = (
  code: Extract<ActResult, { ok: false }>["code"],
  refusal: ActRefusal,
): ActResult => ({
  ok: false,
  code,
  refusal,
});

export interface ActInput {
  exceptionId: number;
  actor: Actor;
  action: HumanAction;
  /** The channel the click came from, when it came from a card in a channel. */
  expectedChannel?: string;
}

/**
 * The whole of one click (or a modal's submission: it acks after this). The card refresh, the
 * thread note and a storm member's storm card are queued in the change's own transaction
 * (Slack outbox); timers and Home tabs follow after the commit (the seam's hooks).
 */
export async function actOnException(deps: Deps, input: ActInput): Promise<ActResult> {
  const { exceptionId, action } = input;
  const found = await findException(deps.db, exceptionId);
  // A button value is untrusted: the exception must be the one whose card was clicked.
  if (!found || (input.expectedChannel && found.channel !== input.expectedChannel)) {
    return refuse("not_found", { reason: "not_found", exceptionId, here: true });
  }
  // The click continues the exception's trace (its event's intake), linked to the click's own.
  return inSpan(
    `exception ${action.kind}`,
    {
      parent: found.traceContext,
      attributes: { "syncdesk.exception.id": exceptionId, "syncdesk.actor": input.actor.userId },
    },
    async (span) => {
      const result = await act(deps, input, found);
      span.setAttribute("syncdesk.exception.outcome", result.ok ? "changed" : result.code);
      return result;
    },
  );
}

async function act(deps: Deps, input: ActInput, found: ExceptionRow): Promise<ActResult> {
  const { exceptionId, actor, action } = input;
  const { standing } = await standingIn(deps, found.role, actor.userId);
  if (standing === "outsider") {
    return refuse("forbidden", { reason: "outsider", exceptionId, role: found.role });
  }
  if (action.kind === "reassign") {
    const target = await standingIn(deps, found.role, action.to);
    if (target.standing === "outsider") {
      return refuse("forbidden", { reason: "not_member", userId: action.to, role: found.role });
    }
  }
  if (action.kind === "retry") {
    // Checked on arrival too; the routing file may have narrowed retryQueues since.
    const problem = retryTargetProblem(
      found.latestEvent.retry,
      deps.routing.current().config,
      deps.queues.own,
    );
    if (problem)
      return refuse("forbidden", { reason: "retry_target", exceptionId, problem: problem.message });
  }
  const machineAction = { ...action, actor: actor.userId, isManager: standing === "manager" };
  const now = deps.clock.now();
  const result = await changeException(deps, exceptionId, async (row) => {
    const decided = humanChange(row, machineAction as Action, { actor, action, now });
    // Queued inside the transaction: if the enqueue fails, the state does not change. The job
    // id is deterministic, so a repeat of this step cannot queue the retry twice.
    if (decided.ok && action.kind === "retry")
      await queueRetryJob(deps, row, decided.change, actor);
    return decided;
  });
  if (!result.ok) {
    if (!result.refusal)
      return refuse("not_found", { reason: "not_found", exceptionId, here: false });
    return refuse("stale", { reason: "stale", exceptionId, refusal: result.refusal });
  }
  metrics.actions.inc({ kind: action.kind, actor: "human" });
  if (action.kind === "retry") metrics.retries.inc({ outcome: "queued" });
  return { ok: true, row: result.row };
}

/**
 * A person's change of a locked row, as the seam writes it: the pure transition, the columns
 * it sets, the audit entry and the thread note. Pure (bulk-resolve.ts uses it for each member).
 */
export function humanChange(
  row: ExceptionRow,
  machineAction: Action,
  input: { actor: Actor; action: HumanAction; now: Date },
): Decided<null, Refusal> {
  const { actor, action, now } = input;
  const outcome = transition(holding(row), machineAction);
  if (!outcome.ok) return { ok: false, refusal: outcome };
  const { change } = outcome;
  const patch: Partial<ExceptionRow> = {
    state: change.state,
    claimedBy: change.claimedBy,
    retryCount: change.retryCount,
    updatedAt: now,
  };
  if (change.claimedBy !== row.claimedBy) patch.claimedAt = change.claimedBy ? now : null;
  if (change.claimedBy && !row.firstClaimedAt) patch.firstClaimedAt = now;
  let expectedOutcome: string = expectedOutcomeOf(action, row);
  if (action.kind === "retry") {
    const retry = row.latestEvent.retry;
    if (!retry) throw new Error("retry offered without a retry spec");
    const jobId = retryJobId(row.id, change.retryCount);
    Object.assign(patch, {
      retryJobId: jobId,
      retryQueue: retry.queue,
      retryRequestedBy: actor.userId,
      lastRetryError: null,
    });
    expectedOutcome = `retry job ${jobId} on ${retry.queue} completes and the exception resolves`;
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
  const after = { ...row, ...patch };
  const rowChange: RowChange = {
    patch,
    audit: {
      actor: actor.userId,
      source: "slack",
      action: action.kind,
      note:
        action.kind === "resolve"
          ? action.note
          : "reason" in action
            ? (action.reason ?? null)
            : null,
      expectedOutcome,
      details: auditDetails(action, row),
      at: now,
    },
    note: humanNote(actor.name, action, after),
  };
  return { ok: true, change: rowChange, facts: null };
}

async function queueRetryJob(
  deps: Pick<Deps, "queues">,
  row: ExceptionRow,
  change: RowChange,
  actor: Actor,
): Promise<void> {
  const retry = row.latestEvent.retry;
  const { retryJobId: jobId, retryCount } = change.patch;
  if (!retry || !jobId || retryCount === undefined) return;
  await deps.queues.external(retry.queue).add(
    retry.name,
    {
      ...retry.data,
      syncdesk: {
        exceptionId: row.id,
        retryNumber: retryCount,
        requestedBy: actor.userId,
        // For a producer without BullMQ telemetry: the click's trace, to continue by hand.
        ...traceField(),
      },
    },
    { jobId, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } },
  );
}

function traceField(): { traceparent?: string } {
  const traceparent = activeTraceparent();
  return traceparent ? { traceparent } : {};
}

export type SystemSignal =
  | { kind: "retry_succeeded" }
  | { kind: "retry_failed"; error: string }
  | { kind: "recovered"; detail: Record<string, unknown> }
  /** A latency gate cleared itself; `said` is its escaped sentence for the thread. */
  | { kind: "gate_cleared"; said: string; detail: Record<string, unknown> };

/** Applies what BullMQ or a producer reported; a signal that no longer applies changes nothing. */
export async function applySignal(
  deps: Deps,
  input: { exceptionId: number; signal: SystemSignal; source: string },
): Promise<ExceptionRow | null> {
  // A retry's result or a recovery joins the trace of the exception's event, as a click does.
  const parent = tracingActive() ? await traceContextOf(deps.db, input.exceptionId) : null;
  return inSpan(
    `exception ${input.signal.kind}`,
    {
      parent,
      attributes: { "syncdesk.exception.id": input.exceptionId, "syncdesk.source": input.source },
    },
    async (span) => {
      const row = await signalChange(deps, input);
      span.setAttribute("syncdesk.exception.outcome", row ? "changed" : "unchanged");
      return row;
    },
  );
}

async function signalChange(
  deps: Deps,
  input: { exceptionId: number; signal: SystemSignal; source: string },
): Promise<ExceptionRow | null> {
  const { signal } = input;
  const now = deps.clock.now();
  const result = await changeException(deps, input.exceptionId, (row) => {
    const outcome = transition(
      holding(row),
      signal.kind === "retry_failed" ? signal : { kind: signal.kind },
    );
    if (!outcome.ok) return { ok: false, refusal: outcome };
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
    return {
      ok: true,
      facts: null,
      change: {
        patch,
        audit: {
          actor: SYSTEM_ACTOR,
          source: input.source,
          action: signal.kind === "retry_succeeded" ? "auto_resolved" : signal.kind,
          note: signal.kind === "retry_failed" ? signal.error.slice(0, 2000) : null,
          details: {
            retryNumber: row.retryCount,
            retryJobId: row.retryJobId,
            ...(signal.kind === "recovered" || signal.kind === "gate_cleared" ? signal.detail : {}),
          },
          at: now,
        },
        note: systemNote(signal, { ...row, ...patch }),
      },
    };
  });
  if (!result.ok) return null;
  metrics.actions.inc({ kind: signal.kind, actor: "system" });
  if (signal.kind === "retry_succeeded") metrics.retries.inc({ outcome: "succeeded" });
  if (signal.kind === "retry_failed") metrics.retries.inc({ outcome: "failed" });
  return result.row;
}

export function retryJobId(exceptionId: number, retryNumber: number): string {
  return `syncdesk-retry-${exceptionId}-${retryNumber}`;
}

/** What the state machine needs to know of a row. */
export function holding(row: ExceptionRow): Holding {
  return {
    state: row.state,
    claimedBy: row.claimedBy,
    retryCount: row.retryCount,
    canRetry: Boolean(row.latestEvent.retry),
    resolvedBy: row.resolvedBy,
    resolution: row.resolution,
  };
}

/**
 * What the person expects to happen next, for the audit (the article: "log the action, why,
 * and expected outcome"). A retry's names its job, once the job id is known.
 */
export function expectedOutcomeOf(action: HumanAction, row: ExceptionRow): string {
  const label = `EX-${row.id}`;
  switch (action.kind) {
    case "claim":
      return `the claimer works ${label} and resolves it within ${row.role}'s SLA`;
    case "unclaim":
      return `someone in ${row.role} claims ${label}`;
    case "reassign":
      return `${action.to} takes over ${label} and resolves it`;
    case "retry":
      return `a retry of ${label} completes and the exception resolves`;
    case "resolve":
      return `${row.sku} syncs again; a repeat of this failure opens a new exception`;
    default:
      return assertNever(action);
  }
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
