/**
 * Where an unresolved exception stands against its SLA, for lists (mine, Home, checklist).
 * Pure: the deadlines come from the SLA ladder's own functions, so a list and the timers that
 * nudge and escalate can never disagree about when something is due.
 */
import type { RoutingConfig } from "../routing/routing-file.schema.js";
import { policyFor } from "../sla/exception-sla.js";
import { claimDeadline, resolveDeadline } from "../sla/policy.js";

export interface LiveException {
  id: number;
  role: string;
  ruleIndex: number;
  state: "open" | "claimed" | "retrying";
  claimedBy: string | null;
  openedAt: Date;
  breachedAt: Date | null;
  client: string;
  sku: string;
  targetSystem: string;
  failureMode: string;
  severity: string;
  channel: string;
  cardTs: string | null;
  canRetry: boolean;
}

export type Urgency = "breached" | "overdue" | "soon" | "ok";

export interface SlaStanding {
  /** The deadline that matters now: claim while unclaimed, then resolve. */
  deadline: "claim" | "resolve";
  dueAt: number;
  /** Negative once overdue. */
  remainingMs: number;
  urgency: Urgency;
}

/** "About to breach": less than this share of the deadline's window is left. */
export const SOON_FRACTION = 0.25;

export function slaStanding(
  row: Pick<
    LiveException,
    "role" | "ruleIndex" | "state" | "claimedBy" | "openedAt" | "breachedAt"
  >,
  config: RoutingConfig,
  now: Date,
): SlaStanding {
  const policy = policyFor(config, row);
  const clock = { openedAt: row.openedAt.getTime() };
  const unclaimed = row.state === "open" && row.claimedBy === null;
  const deadline = unclaimed ? "claim" : "resolve";
  const dueAt = unclaimed ? claimDeadline(clock, policy) : resolveDeadline(clock, policy);
  const windowMs = unclaimed ? policy.claimMs : policy.resolveMs;
  const remainingMs = dueAt - now.getTime();
  let urgency: Urgency = "ok";
  if (row.breachedAt !== null) urgency = "breached";
  else if (remainingMs <= 0) urgency = "overdue";
  else if (remainingMs <= windowMs * SOON_FRACTION) urgency = "soon";
  return { deadline, dueAt, remainingMs, urgency };
}

/** Past the claim window and still unclaimed (the checklist's second line). */
export function unclaimedPastWindow(
  row: Pick<LiveException, "role" | "ruleIndex" | "state" | "claimedBy" | "openedAt">,
  config: RoutingConfig,
  now: Date,
): boolean {
  if (row.state !== "open" || row.claimedBy !== null) return false;
  const due = claimDeadline({ openedAt: row.openedAt.getTime() }, policyFor(config, row));
  return due < now.getTime();
}

/** Past the resolve deadline (or marked breached) and not resolved: the role is past its SLA. */
export function pastSla(
  row: Pick<LiveException, "role" | "ruleIndex" | "openedAt" | "breachedAt">,
  config: RoutingConfig,
  now: Date,
): boolean {
  if (row.breachedAt !== null) return true;
  const due = resolveDeadline({ openedAt: row.openedAt.getTime() }, policyFor(config, row));
  return due < now.getTime();
}

const URGENCY_ORDER: Record<Urgency, number> = { breached: 0, overdue: 1, soon: 2, ok: 3 };

/** Most urgent first: breached, overdue, soon, then by what is due earliest. */
export function byUrgency(
  a: { standing: SlaStanding; row: { id: number } },
  b: { standing: SlaStanding; row: { id: number } },
): number {
  return (
    URGENCY_ORDER[a.standing.urgency] - URGENCY_ORDER[b.standing.urgency] ||
    a.standing.dueAt - b.standing.dueAt ||
    a.row.id - b.row.id
  );
}
