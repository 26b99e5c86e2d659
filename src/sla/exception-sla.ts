/**
 * The bridge between an exception row and the pure SLA ladder: which policy governs it, its
 * clock, and the deterministic BullMQ job ids of its timers. Pure.
 */
import type { ExceptionRow } from "../exceptions/card.js";
import { DEFAULT_SLA, type RoutingConfig, type SlaPolicy } from "../routing/routing-file.schema.js";
import { nextStep, type SlaClock, type SlaStep, stepKey } from "./policy.js";

/**
 * The SLA of the rule that routed the exception, read from the active routing config: the rule
 * at `ruleIndex` if it still routes to the exception's role, otherwise the role's own SLA (the
 * rules were edited since), otherwise the defaults (the role is gone too).
 */
export function policyFor(
  config: RoutingConfig,
  row: Pick<ExceptionRow, "ruleIndex" | "role">,
): SlaPolicy {
  const rule = config.routes.find((candidate) => candidate.index === row.ruleIndex);
  if (rule && rule.role === row.role) return rule.sla;
  return config.roles[row.role]?.sla ?? DEFAULT_SLA;
}

/**
 * When the next ladder step of a row is due, or null: what the exception seam stores as
 * `next_deadline_at` with every change (registered by the composition root).
 */
export function nextDeadlineOf(config: RoutingConfig, row: ExceptionRow): Date | null {
  const next = nextStep(slaClockOf(row), policyFor(config, row));
  return next ? new Date(next.dueAt) : null;
}

export function slaClockOf(
  row: Pick<
    ExceptionRow,
    "openedAt" | "claimedBy" | "state" | "breachedAt" | "escalations" | "slaFired"
  >,
): SlaClock {
  return {
    openedAt: row.openedAt.getTime(),
    claimedBy: row.claimedBy,
    state: row.state,
    breachedAt: row.breachedAt?.getTime() ?? null,
    escalations: row.escalations,
    firedSteps: Array.isArray(row.slaFired) ? row.slaFired : [],
  };
}

/**
 * `sla-12-claim_nudge-0-1767600000000`: one job per exception, step and due time. The due time
 * is the episode marker: the same step armed twice for the same instant is one job (BullMQ
 * ignores the second add), while a step whose deadline moved (a routing change) gets a new one.
 * `rearm` > 0 marks a re-arm of a timer that woke before its time.
 */
export function timerJobId(
  exceptionId: number,
  step: Pick<SlaStep, "kind" | "index" | "dueAt">,
  rearm = 0,
): string {
  const base = `sla-${exceptionId}-${stepKey(step)}-${step.dueAt}`;
  return rearm > 0 ? `${base}-r${rearm}` : base;
}
