/**
 * What a latency gate (src/gates) writes into the event of the exception it opens, under the
 * event's `gate` key (the failure-event contract keeps fields it does not know), and the card
 * lines that read it back: when the next delivery was expected and how overdue it was. Pure.
 */
import { z } from "zod";
import type { FailureEvent } from "../platform/contracts/failure-event.schema.js";
import { formatDuration } from "../platform/duration.js";
import { assertNever } from "../platform/errors.js";
import { safeText, slackDate } from "../platform/slack/mrkdwn.js";

export const GATE_KINDS = ["late", "stale", "over_budget"] as const;
export type GateKind = (typeof GATE_KINDS)[number];

/** The failure mode each gate opens its exceptions with. */
export const GATE_FAILURE_MODE = {
  late: "latency",
  stale: "stale",
  over_budget: "over_budget",
} as const satisfies Record<GateKind, FailureEvent["failureMode"]>;
export type GateFailureMode = (typeof GATE_FAILURE_MODE)[GateKind];

export const gateDetailSchema = z.object({
  kind: z.enum(GATE_KINDS),
  pipeline: z.string(),
  /** When the next (or this) delivery was expected at the latest. */
  expectedAt: z.iso.datetime(),
  /** When the gate saw it overdue. */
  detectedAt: z.iso.datetime(),
  budgetMs: z.number().optional(),
  freshnessMs: z.number().optional(),
  /** The pipeline's hours as written, when it has some (gates sleep outside them). */
  hours: z.string().nullable().optional(),
  /** late: the delivery that did not arrive, and when its change happened. */
  deliveryEventId: z.string().optional(),
  triggeredAt: z.iso.datetime().optional(),
  /** stale: the last successful delivery seen (null: none since the gate started watching). */
  lastDeliveredAt: z.iso.datetime().nullable().optional(),
  /** over_budget: time-to-sync P95 over the window, and how many deliveries it merged. */
  p95Ms: z.number().optional(),
  deliveries: z.number().optional(),
  windowMs: z.number().optional(),
});
export type GateDetail = z.infer<typeof gateDetailSchema>;

/** The gate detail of an exception's event, or null for a failure a producer reported. */
export function gateDetailOf(event: FailureEvent): GateDetail | null {
  const parsed = gateDetailSchema.safeParse((event as Record<string, unknown>).gate);
  return parsed.success ? parsed.data : null;
}

/** How far past `expectedAt` the gate found it (never negative). */
export function overdueMs(detail: GateDetail): number {
  return Math.max(0, Date.parse(detail.detectedAt) - Date.parse(detail.expectedAt));
}

/** The card's lines for a gate exception. */
export function gateLines(detail: GateDetail): string[] {
  const pipeline = `\`${safeText(detail.pipeline, 64)}\``;
  const expected = slackDate(new Date(detail.expectedAt));
  const detected = slackDate(new Date(detail.detectedAt));
  const overdue = formatDuration(overdueMs(detail));
  const hours = detail.hours ? ` (counted in hours ${safeText(detail.hours, 60)})` : "";
  switch (detail.kind) {
    case "late":
      return [
        `:hourglass: *Late delivery* on pipeline ${pipeline}: the change of ${detail.triggeredAt ? slackDate(new Date(detail.triggeredAt)) : "an unknown time"} was expected at the target by ${expected} (budget ${formatDuration(detail.budgetMs ?? 0)}).`,
        `Overdue by *${overdue}* when the gate checked at ${detected}; a success for this SKU resolves it.`,
      ];
    case "stale":
      return [
        `:hourglass: *Stale pipeline* ${pipeline}: ${detail.lastDeliveredAt ? `last successful delivery ${slackDate(new Date(detail.lastDeliveredAt))}` : "no successful delivery seen since the gate started watching"}; the next was expected by ${expected} (freshness ${formatDuration(detail.freshnessMs ?? 0)}${hours}).`,
        `Overdue by *${overdue}* when the gate checked at ${detected}; the next successful delivery resolves it.`,
      ];
    case "over_budget":
      return [
        `:hourglass: *Over budget* ${pipeline}: time-to-sync P95 *${formatDuration(detail.p95Ms ?? 0)}* over the last ${formatDuration(detail.windowMs ?? 0)} (${detail.deliveries ?? 0} deliveries), budget ${formatDuration(detail.budgetMs ?? 0)}: deliveries were expected within the budget.`,
        `P95 over budget by *${formatDuration(Math.max(0, (detail.p95Ms ?? 0) - (detail.budgetMs ?? 0)))}* when the gate checked at ${detected}; it resolves once P95 is back under.`,
      ];
    default:
      return assertNever(detail.kind);
  }
}
