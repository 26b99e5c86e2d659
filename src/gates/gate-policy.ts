/**
 * The latency gates as pure judgements over plain data: when a pipeline turns stale (freshness
 * counted only inside its hours), whether its time-to-sync P95 is over budget, when a gate may
 * page (never outside the pipeline's hours), and the failure event each gate opens its
 * exception with. No clock, no database: the caller hands in `now`.
 */
import { createHash } from "node:crypto";
import { formatLatency } from "../deliveries/pipelines.view.js";
import { GATE_FAILURE_MODE, type GateDetail } from "../exceptions/gate-detail.js";
import type { FailureEventInput } from "../intake/failure-event.schema.js";
import { formatDuration } from "../platform/duration.js";
import { safeText } from "../platform/slack/mrkdwn.js";
import type { PipelineConfig } from "../routing/routing-file.schema.js";
import { addBusinessTime, isWithinHours, nextOpening } from "../sla/business-time.js";

/** The over-budget gate's window: P95 of the last 15 minutes (the issue's definition). */
export const BUDGET_WINDOW_MS = 15 * 60_000;

type Gated = Pick<PipelineConfig, "hours" | "timezone">;

/** Whether a gate of this pipeline may page at `ms`. */
export function mayPage(pipeline: Gated, ms: number): boolean {
  return isWithinHours(ms, pipeline.hours, pipeline.timezone);
}

/** The first instant at or after `ms` when the pipeline's gates may page. */
export function nextPageable(pipeline: Gated, ms: number): number {
  return nextOpening(ms, pipeline.hours, pipeline.timezone);
}

/**
 * When the pipeline turns stale: `freshness` of in-hours time after its last successful
 * delivery (or, with none, after the gate started watching it).
 */
export function staleDeadline(
  pipeline: Pick<PipelineConfig, "freshnessMs" | "hours" | "timezone">,
  since: number,
): number {
  return addBusinessTime(since, pipeline.freshnessMs, pipeline.hours, pipeline.timezone);
}

export type StaleJudgement =
  | { kind: "fresh"; deadline: number }
  /** Overdue, but outside hours: look again at `at`. */
  | { kind: "asleep"; deadline: number; at: number }
  | { kind: "stale"; deadline: number };

export function judgeStale(
  pipeline: Pick<PipelineConfig, "freshnessMs" | "hours" | "timezone">,
  since: number,
  now: number,
): StaleJudgement {
  const deadline = staleDeadline(pipeline, since);
  if (now < deadline) return { kind: "fresh", deadline };
  if (!mayPage(pipeline, now)) return { kind: "asleep", deadline, at: nextPageable(pipeline, now) };
  return { kind: "stale", deadline };
}

export type BudgetJudgement =
  | { kind: "over"; p95Ms: number; deliveries: number }
  | { kind: "under"; p95Ms: number; deliveries: number }
  /** Too few timed deliveries in the window to judge (no alarm from two slow ones at night). */
  | { kind: "too_few"; deliveries: number };

export function judgeBudget(
  pipeline: Pick<PipelineConfig, "budgetMs">,
  window: { p95Ms: number | null; timed: number },
  minDeliveries: number,
): BudgetJudgement {
  if (window.p95Ms === null || window.timed === 0) return { kind: "too_few", deliveries: 0 };
  const p95Ms = window.p95Ms;
  if (p95Ms <= pipeline.budgetMs) return { kind: "under", p95Ms, deliveries: window.timed };
  if (window.timed < minDeliveries) return { kind: "too_few", deliveries: window.timed };
  return { kind: "over", p95Ms, deliveries: window.timed };
}

/** A started delivery as the late-delivery gate reads it from `delivery_inflight`. */
export interface LateDelivery {
  eventId: string;
  client: string;
  sku: string;
  sourceSystem: string;
  targetSystem: string;
  triggeredAt: number;
}

/** The failure-event text fields hold at most 200 characters: long ids are hashed. */
function boundedId(prefix: string, id: string): string {
  const full = `${prefix}${id}`;
  if (full.length <= 200) return full;
  return `${prefix}sha256-${createHash("sha256").update(id).digest("hex")}`;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The event a late delivery's exception opens with; its eventId makes opening it idempotent. */
export function lateEvent(
  pipeline: Pick<PipelineConfig, "name" | "budgetMs" | "hours">,
  delivery: LateDelivery,
  now: number,
): FailureEventInput {
  const expectedAt = delivery.triggeredAt + pipeline.budgetMs;
  const gate: GateDetail = {
    kind: "late",
    pipeline: pipeline.name,
    expectedAt: iso(expectedAt),
    detectedAt: iso(now),
    budgetMs: pipeline.budgetMs,
    hours: pipeline.hours?.text ?? null,
    deliveryEventId: delivery.eventId,
    triggeredAt: iso(delivery.triggeredAt),
  };
  return {
    eventId: boundedId("gate-late-", delivery.eventId),
    occurredAt: iso(Math.min(now, expectedAt)),
    client: delivery.client,
    sku: delivery.sku,
    sourceSystem: delivery.sourceSystem,
    targetSystem: delivery.targetSystem,
    operation: "stock_update",
    failureMode: GATE_FAILURE_MODE.late,
    error: {
      message: `Delivery ${delivery.eventId} started but no success or failure was reported within the ${formatDuration(pipeline.budgetMs)} budget of pipeline ${pipeline.name}.`,
      code: "latency_gate",
    },
    attempts: 0,
    gate,
  } as FailureEventInput;
}

/** What stands for a whole pipeline on its card: its first patterns, and its name as the SKU. */
export function pipelineSubject(pipeline: Pick<PipelineConfig, "name" | "match">) {
  const first = (key: string) => pipeline.match?.[key]?.[0] ?? "*";
  return {
    client: first("client"),
    sku: `pipeline:${pipeline.name}`,
    sourceSystem: first("sourceSystem"),
    targetSystem: first("targetSystem"),
  };
}

export function staleEvent(
  pipeline: Pick<PipelineConfig, "name" | "match" | "freshnessMs" | "hours">,
  facts: { lastDeliveredAt: number | null; deadline: number },
  now: number,
): FailureEventInput {
  const gate: GateDetail = {
    kind: "stale",
    pipeline: pipeline.name,
    expectedAt: iso(facts.deadline),
    detectedAt: iso(now),
    freshnessMs: pipeline.freshnessMs,
    hours: pipeline.hours?.text ?? null,
    lastDeliveredAt: facts.lastDeliveredAt === null ? null : iso(facts.lastDeliveredAt),
  };
  return {
    // One per deadline: the next stale episode (after a recovery) has a later deadline.
    eventId: `gate-stale-${pipeline.name}-${facts.deadline}`,
    occurredAt: iso(Math.min(now, facts.deadline)),
    ...pipelineSubject(pipeline),
    operation: "stock_update",
    failureMode: GATE_FAILURE_MODE.stale,
    error: {
      message: `Pipeline ${pipeline.name} had no successful delivery within its freshness of ${formatDuration(pipeline.freshnessMs)}${pipeline.hours ? ` (counted in hours ${pipeline.hours.text})` : ""}.`,
      code: "stale_gate",
    },
    attempts: 0,
    gate,
  } as FailureEventInput;
}

export function overBudgetEvent(
  pipeline: Pick<PipelineConfig, "name" | "match" | "budgetMs" | "hours">,
  facts: { p95Ms: number; deliveries: number },
  now: number,
): FailureEventInput {
  const gate: GateDetail = {
    kind: "over_budget",
    pipeline: pipeline.name,
    expectedAt: iso(now),
    detectedAt: iso(now),
    budgetMs: pipeline.budgetMs,
    hours: pipeline.hours?.text ?? null,
    p95Ms: facts.p95Ms,
    deliveries: facts.deliveries,
    windowMs: BUDGET_WINDOW_MS,
  };
  return {
    // One per minute at most: a second sweep within the minute finds it already taken in.
    eventId: `gate-over-budget-${pipeline.name}-${Math.floor(now / 60_000)}`,
    occurredAt: iso(now),
    ...pipelineSubject(pipeline),
    operation: "stock_update",
    failureMode: GATE_FAILURE_MODE.over_budget,
    error: {
      message: `Time-to-sync P95 of pipeline ${pipeline.name} is ${formatDuration(facts.p95Ms)} over the last ${formatDuration(BUDGET_WINDOW_MS)} (${facts.deliveries} deliveries), over its budget of ${formatDuration(pipeline.budgetMs)}.`,
      code: "over_budget_gate",
    },
    attempts: 0,
    gate,
  } as FailureEventInput;
}

/** The thread note of a late delivery's exception that its success resolves. */
export function lateClearedSentence(
  detail: Pick<GateDetail, "expectedAt" | "budgetMs" | "triggeredAt">,
  deliveredAt: number,
): string {
  const late = deliveredAt - Date.parse(detail.expectedAt);
  const took =
    detail.triggeredAt === undefined
      ? ""
      : ` (time-to-sync ${formatLatency(Math.max(0, deliveredAt - Date.parse(detail.triggeredAt)))} against a budget of ${formatDuration(detail.budgetMs ?? 0)})`;
  return late > 0
    ? `The delivery arrived at ${iso(deliveredAt).slice(0, 19).replace("T", " ")} UTC, *${formatLatency(late)} late*${took}.`
    : `The delivery arrived in time (${formatLatency(-late)} before its deadline) but was reported after it${took}.`;
}

export function staleClearedSentence(lastDeliveredAt: number, expectedAt: number): string {
  const late = Math.max(0, lastDeliveredAt - expectedAt);
  return `The pipeline delivers again: a successful delivery at ${iso(lastDeliveredAt).slice(0, 19).replace("T", " ")} UTC, ${formatLatency(late)} after the next one was expected.`;
}

export function budgetClearedSentence(
  facts: { p95Ms: number; deliveries: number },
  budgetMs: number,
): string {
  return `Time-to-sync P95 is back under budget: ${formatDuration(facts.p95Ms)} over the last ${formatDuration(BUDGET_WINDOW_MS)} (${facts.deliveries} deliveries), budget ${formatDuration(budgetMs)}.`;
}

/** The thread note of a late delivery's exception that the delivery's failure ends. */
export function lateFailedSentence(deliveryEventId: string, failedAt: number): string {
  return `The delivery \`${safeText(deliveryEventId, 80)}\` failed for good at ${iso(failedAt).slice(0, 19).replace("T", " ")} UTC: the exception of that failure carries it from here.`;
}

/** The thread note of a pipeline gate whose pipeline the routing no longer declares. */
export function undeclaredSentence(pipeline: string, version: number | null): string {
  return `Pipeline \`${safeText(pipeline, 64)}\` is no longer declared in the routing${version === null ? "" : ` (v${version})`}, so no gate watches it any more.`;
}
