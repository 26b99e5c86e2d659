/**
 * The SLA ladder: which reminders, breach and escalation DMs an exception still has coming, and
 * when. Pure over a snapshot of the exception's clock; the timer jobs schedule `nextStep` and,
 * when a timer fires (late, or twice), ask `stepStillApplies` before acting.
 *
 * Claim nudges and the claimer reminder are fractions of business time counted from
 * `openedAt`, as are both deadlines. Escalations repeat in wall-clock time after the breach:
 * managers are being paged, support hours no longer matter.
 */
import type { SlaPolicy } from "../routing/routing-file.schema.js";
import { addBusinessTime } from "./business-time.js";

export const SLA_STEP_KINDS = ["claim_nudge", "claimer_reminder", "breach", "escalation"] as const;
export type SlaStepKind = (typeof SLA_STEP_KINDS)[number];

export interface SlaStep {
  kind: SlaStepKind;
  /** Nudge number 0..n-1 (position in `nudgeAt`), escalation number 1..max, otherwise 0. */
  index: number;
  dueAt: number;
}

export interface SlaClock {
  openedAt: number;
  claimedBy: string | null;
  state: "open" | "claimed" | "retrying" | "resolved";
  breachedAt: number | null;
  /** Repeat breach DMs already sent, not counting the first breach DM. */
  escalations: number;
  /** `stepKey`s of steps already fired. */
  firedSteps: string[];
}

/** `claim_nudge-0`, `escalation-2`: no ':' because it ends up inside BullMQ job ids. */
export function stepKey(step: Pick<SlaStep, "kind" | "index">): string {
  return `${step.kind}-${step.index}`;
}

export function claimDeadline(clock: Pick<SlaClock, "openedAt">, policy: SlaPolicy): number {
  return afterOpening(clock, policy, policy.claimMs);
}

export function resolveDeadline(clock: Pick<SlaClock, "openedAt">, policy: SlaPolicy): number {
  return afterOpening(clock, policy, policy.resolveMs);
}

/** Every step still due, earliest first, excluding fired ones. Nothing once resolved. */
export function pendingSteps(clock: SlaClock, policy: SlaPolicy): SlaStep[] {
  if (clock.state === "resolved") return [];
  const steps: SlaStep[] = [];
  if (isUnclaimed(clock)) {
    policy.nudgeAt.forEach((fraction, index) => {
      const dueAt = afterOpening(clock, policy, Math.round(fraction * policy.claimMs));
      steps.push({ kind: "claim_nudge", index, dueAt });
    });
  }
  if (hasClaimer(clock) && policy.remindClaimerAt !== null) {
    const dueAt = afterOpening(
      clock,
      policy,
      Math.round(policy.remindClaimerAt * policy.resolveMs),
    );
    steps.push({ kind: "claimer_reminder", index: 0, dueAt });
  }
  if (clock.breachedAt === null) {
    steps.push({ kind: "breach", index: 0, dueAt: resolveDeadline(clock, policy) });
  } else if (clock.escalations < policy.maxEscalations) {
    const index = clock.escalations + 1;
    steps.push({ kind: "escalation", index, dueAt: clock.breachedAt + index * policy.repeatMs });
  }
  const fired = new Set(clock.firedSteps);
  return steps.filter((step) => !fired.has(stepKey(step))).sort(byDueAt);
}

/**
 * Every step the ladder can hold for this clock, whatever the state and whatever already fired
 * (escalations only once breached). Timers armed for any of these and no longer pending are the
 * ones to cancel after a state change.
 */
export function ladderSteps(
  clock: Pick<SlaClock, "openedAt" | "breachedAt">,
  policy: SlaPolicy,
): SlaStep[] {
  const steps: SlaStep[] = policy.nudgeAt.map((fraction, index) => ({
    kind: "claim_nudge" as const,
    index,
    dueAt: afterOpening(clock, policy, Math.round(fraction * policy.claimMs)),
  }));
  if (policy.remindClaimerAt !== null) {
    const dueAt = afterOpening(
      clock,
      policy,
      Math.round(policy.remindClaimerAt * policy.resolveMs),
    );
    steps.push({ kind: "claimer_reminder", index: 0, dueAt });
  }
  steps.push({ kind: "breach", index: 0, dueAt: resolveDeadline(clock, policy) });
  const { breachedAt } = clock;
  if (breachedAt !== null) {
    for (let index = 1; index <= policy.maxEscalations; index++) {
      steps.push({ kind: "escalation", index, dueAt: breachedAt + index * policy.repeatMs });
    }
  }
  return steps.sort(byDueAt);
}

export function nextStep(clock: SlaClock, policy: SlaPolicy): SlaStep | null {
  return pendingSteps(clock, policy)[0] ?? null;
}

/**
 * Re-check when a timer fires: a step applies only while it is still pending for the current
 * clock, so the two can never disagree. That rejects everything once resolved, a nudge once
 * claimed, a reminder without a claimer, a second breach, an escalation already sent, out of
 * turn or past the cap, an index the policy does not have, and any step already fired.
 */
export function stepStillApplies(
  step: Pick<SlaStep, "kind" | "index">,
  clock: SlaClock,
  policy: SlaPolicy,
): boolean {
  const key = stepKey(step);
  return pendingSteps(clock, policy).some((pending) => stepKey(pending) === key);
}

/**
 * Wall-clock ms past the resolve deadline at `nowMs`, 0 if not overdue. It does not look at
 * `state`: for a resolved exception pass the resolution time to learn how late it was.
 */
export function overdueBy(
  nowMs: number,
  clock: Pick<SlaClock, "openedAt">,
  policy: SlaPolicy,
): number {
  return Math.max(0, nowMs - resolveDeadline(clock, policy));
}

function afterOpening(clock: Pick<SlaClock, "openedAt">, policy: SlaPolicy, ms: number) {
  return addBusinessTime(clock.openedAt, ms, policy.hours, policy.timezone);
}

function isUnclaimed(clock: SlaClock): boolean {
  return clock.state === "open" && clock.claimedBy === null;
}

function hasClaimer(clock: SlaClock): boolean {
  return (clock.state === "claimed" || clock.state === "retrying") && clock.claimedBy !== null;
}

/** Ties keep the ladder's natural order: nudges, reminder, breach, escalation. */
const KIND_ORDER: Record<SlaStepKind, number> = {
  claim_nudge: 0,
  claimer_reminder: 1,
  breach: 2,
  escalation: 3,
};

function byDueAt(a: SlaStep, b: SlaStep): number {
  return a.dueAt - b.dueAt || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.index - b.index;
}
