/**
 * A timer fired. Lock the exception, ask the pure ladder whether this step still applies, and
 * if so record it (sla_fired, breached_at, escalations, the next deadline and an audit row with
 * the deadline enforced and when it fired) and queue its Slack notices in the outbox, all in
 * one transaction. A stale, early, late or repeated timer is harmless: it finds nothing to do
 * and makes sure the right timer is armed instead.
 */
import type { Deps } from "../app/deps.js";
import { SYSTEM_ACTOR } from "../audit/audit.js";
import { exceptionLabel } from "../exceptions/card.js";
import { changeException, type RowChange } from "../exceptions/change.js";
import { findException } from "../exceptions/exceptions.repo.js";
import { assertNever } from "../platform/errors.js";
import { metrics } from "../platform/metrics.js";
import { policyFor, slaClockOf, timerJobId } from "./exception-sla.js";
import { pendingSteps, type SlaStep, type SlaStepKind, stepKey } from "./policy.js";
import type { SlaStepJob } from "./sla-jobs.schema.js";
import { cardPermalink, noticeRecipients, queueNotices } from "./sla-notices.js";
import { rearm } from "./sla-timers.js";

/** A timer may wake this much before its deadline (clocks of two machines) and still act. */
const EARLY_TOLERANCE_MS = 250;

export const SLA_AUDIT_ACTIONS: Record<SlaStepKind, string> = {
  claim_nudge: "sla_nudge",
  claimer_reminder: "sla_reminder",
  breach: "sla_breached",
  escalation: "sla_escalated",
};

export type StepOutcome = "fired" | "skipped" | "stale" | "early" | "gone";

export async function fireSlaStep(deps: Deps, data: SlaStepJob): Promise<StepOutcome> {
  const now = deps.clock.now();
  const nowMs = now.getTime();
  const firing = {
    jobId: timerJobId(data.exceptionId, data, data.rearm),
    rearm: data.rearm,
  };
  // DMs link to the card; Slack is asked before the row is locked.
  const peek = await findException(deps.db, data.exceptionId);
  if (!peek) return "gone";
  const wantsLink = data.kind !== "claim_nudge" && peek.state !== "resolved";
  const permalink = wantsLink ? await cardPermalink(deps, peek) : null;
  // Through the exception seam: the step, its audit row, its notices (outbox) and the next
  // deadline commit together; the next timer is armed by the seam's after-commit hook.
  const result = await changeException(deps, data.exceptionId, (row) => {
    const config = deps.routing.current().config;
    const policy = policyFor(config, row);
    const clock = slaClockOf(row);
    const pending = pendingSteps(clock, policy);
    const step = pending.find((candidate) => stepKey(candidate) === stepKey(data));
    if (!step) return { ok: false, refusal: "stale" as const };
    if (step.dueAt > nowMs + EARLY_TOLERANCE_MS) return { ok: false, refusal: "early" as const };

    const skipped = skipReason(step, pending, row.breachedAt, nowMs);
    const key = stepKey(step);
    const role = config.roles[row.role];
    const recipients = skipped ? [] : noticeRecipients(step, row, role, policy);
    // A breach or an escalation shows on the storm card and the Home tabs; a nudge does not.
    const shows = step.kind === "breach" || step.kind === "escalation";
    const change: RowChange = {
      patch: {
        slaFired: [...clock.firedSteps, key],
        breachedAt: step.kind === "breach" ? now : row.breachedAt,
        escalations: step.kind === "escalation" ? row.escalations + 1 : row.escalations,
      },
      audit: {
        actor: SYSTEM_ACTOR,
        source: "sla",
        action: SLA_AUDIT_ACTIONS[step.kind],
        note: skipped,
        expectedOutcome: expectation(step, row.role, row.claimedBy, row.id),
        details: {
          step: key,
          deadline: new Date(step.dueAt).toISOString(),
          firedAt: now.toISOString(),
          lateMs: nowMs - step.dueAt,
          holder: row.claimedBy,
          recipients,
          ...(step.kind === "escalation"
            ? {
                escalation: step.index,
                of: policy.maxEscalations,
                final: step.index >= policy.maxEscalations,
              }
            : {}),
          policy: {
            claimMs: policy.claimMs,
            resolveMs: policy.resolveMs,
            hours: policy.hours?.text ?? "always",
            timezone: policy.timezone,
          },
          timer: firing.jobId,
        },
        at: now,
      },
      // The notices queue the card's refresh themselves (breach, escalation).
      card: false,
      stormCard: shows,
      redrawHomes: shows,
      outbox: (tx, after) =>
        queueNotices(tx, after, step, recipients, { policy, role, nowMs, permalink }),
    };
    return { ok: true, change, facts: { step, skipped } };
  });

  if (!result.ok) {
    if (result.refusal === null) return "gone";
    await rearm(deps, data.exceptionId, firing);
    return result.refusal;
  }
  const { step, skipped } = result.facts;
  countStep(step.kind, result.row.role, !skipped);
  return skipped ? "skipped" : "fired";
}

/**
 * Why a due step is recorded without a message, or null to send it. After an outage several
 * nudges can be due at once: only the latest is worth sending. A claimer reminder that comes
 * due after the breach (claimed late) would only repeat what the breach DMs said.
 */
function skipReason(
  step: SlaStep,
  pending: SlaStep[],
  breachedAt: Date | null,
  nowMs: number,
): string | null {
  if (step.kind === "claim_nudge") {
    const later = pending.some(
      (other) =>
        other.kind === "claim_nudge" &&
        other.index !== step.index &&
        other.dueAt >= step.dueAt &&
        other.dueAt <= nowMs,
    );
    return later ? "skipped: a later nudge is due too (the timer fired late)" : null;
  }
  if (step.kind === "claimer_reminder" && breachedAt !== null) {
    return "skipped: the SLA is already breached and the managers were paged";
  }
  return null;
}

function expectation(step: SlaStep, role: string, holder: string | null, id: number): string {
  const label = exceptionLabel(id);
  switch (step.kind) {
    case "claim_nudge":
      return `a member of ${role} claims ${label}`;
    case "claimer_reminder":
      return `${holder ?? "the holder"} resolves ${label} before the deadline`;
    case "breach":
    case "escalation":
      return `a manager of ${role} gets ${label} resolved or handed to someone who will`;
    default:
      return assertNever(step.kind);
  }
}

/** A breach is counted even when its notices were skipped; a nudge only when it went out. */
function countStep(kind: SlaStepKind, role: string, sent: boolean): void {
  if (kind === "breach") metrics.slaBreaches.inc({ role });
  else if (sent && (kind === "claim_nudge" || kind === "claimer_reminder"))
    metrics.slaNudges.inc({ role, kind });
}
