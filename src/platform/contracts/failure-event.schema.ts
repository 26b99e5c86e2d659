/**
 * The failure-event contract: what a sync pipeline puts on the `inventory-sync-failures`
 * queue when a delivery has failed for good. Producers import this module; syncdesk parses
 * every job with the same schema, so the contract cannot drift from the code that reads it.
 */
import type { Queue } from "bullmq";
import { z } from "zod";

export const FAILURE_MODES = [
  "throttled",
  "schema_mismatch",
  "partial_write",
  "network",
  "auth",
  "conflict",
  /** A consumer's stock differs from its source of truth's (reconciliation, src/recon). */
  "drift",
  "unknown",
] as const;
export type FailureMode = (typeof FAILURE_MODES)[number];

const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max);

const httpUrl = z
  .string()
  .max(2000)
  .refine((value) => {
    try {
      const { protocol } = new URL(value);
      return protocol === "http:" || protocol === "https:";
    } catch {
      return false;
    }
  }, "must be an http or https URL");

/**
 * An instant Postgres can store: the ISO pattern alone lets `2026-02-31` through (JavaScript
 * quietly reads it as 3 March) and year 0000, which timestamptz refuses.
 */
export const instant = z.iso.datetime({ offset: true }).refine((value) => {
  const [year, month, day] = value.slice(0, 10).split("-").map(Number) as [number, number, number];
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year, month, 0);
  const at = new Date(value);
  // Postgres reads the UTC instant as four-digit years only, AD.
  const utcYear = at.getUTCFullYear();
  return day <= lastDay.getUTCDate() && utcYear >= 1 && utcYear <= 9999;
}, "must be a real date and time");

/**
 * The contract's major version. An event without `schemaVersion` is version 1. Adding an
 * optional field is not a new version: fields the desk does not know are kept with the event
 * (stored, shown nowhere), so a producer may send a field before the desk is upgraded to read
 * it. Removing or retyping a field is a new major version; the desk then reads the previous one
 * too for the period the README's contract section names.
 */
export const FAILURE_EVENT_VERSIONS = [1] as const;

export const failureEventSchema = z.looseObject({
  schemaVersion: z
    .literal(FAILURE_EVENT_VERSIONS, {
      error: (issue) =>
        `is ${JSON.stringify(issue.input)}: this desk reads version ${FAILURE_EVENT_VERSIONS.join(" or ")} of the contract (leave it out for 1)`,
    })
    .optional(),
  eventId: text(200),
  occurredAt: instant,
  client: text(100),
  vertical: text(100).optional(),
  sku: text(200),
  sourceSystem: text(100),
  targetSystem: text(100),
  operation: text(100).default("stock_update"),
  failureMode: z.enum(FAILURE_MODES),
  error: z.looseObject({
    message: z.string().max(10_000),
    code: z.string().max(200).optional(),
    httpStatus: z.int().min(100).max(599).optional(),
  }),
  attempts: z.int().min(0),
  quantity: z
    .looseObject({
      expected: z.number().finite().optional(),
      observed: z.number().finite().optional(),
    })
    .optional(),
  traceId: text(200).optional(),
  links: z
    .array(z.looseObject({ label: text(100), url: httpUrl }))
    .max(10)
    .optional(),
  retry: z
    .looseObject({
      // BullMQ refuses a queue name with ':', so such a Retry button could never work.
      queue: text(200).refine((name) => !name.includes(":"), "must not contain ':'"),
      name: text(200),
      data: z.record(z.string(), z.unknown()),
    })
    .optional(),
});

/** A failure event as producers write it (`operation` may be left out). */
export type FailureEventInput = z.input<typeof failureEventSchema>;
/** A failure event after parsing (defaults applied). */
export type FailureEvent = z.infer<typeof failureEventSchema>;

export const DEFAULT_FAILURE_QUEUE = "inventory-sync-failures";

/**
 * Reports a failed sync to syncdesk. The event is validated here first so a producer learns
 * about a bad event at its own call site; the job id is the eventId, so a producer that
 * reports the same failure twice (at-least-once pipelines do) adds one job.
 */
export async function reportSyncFailure(queue: Queue, event: FailureEventInput): Promise<void> {
  const parsed = failureEventSchema.parse(event);
  await queue.add("sync.failed", parsed, {
    jobId: failureJobId(parsed.eventId),
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  });
}

/** BullMQ job ids may contain neither ':' nor look like integers. */
export function failureJobId(eventId: string): string {
  return `event-${Buffer.from(eventId).toString("base64url")}`;
}
