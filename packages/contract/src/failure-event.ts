/**
 * The failure-event contract: what a sync pipeline puts on the `inventory-sync-failures`
 * queue (or POSTs to /v1/events) when a delivery has failed for good. syncdesk parses every
 * event with this schema, so the contract cannot drift from the code that reads it.
 */
import { z } from "zod";
import { httpUrl, instant, text } from "./fields.js";

export const FAILURE_MODES = [
  "throttled",
  "schema_mismatch",
  "partial_write",
  "network",
  "auth",
  "conflict",
  "unknown",
  // The latency gates' modes: syncdesk opens these itself when a delivery is late, a pipeline
  // is stale or its time-to-sync P95 is over budget. A producer that measures its own
  // lateness may send "latency" too.
  "latency",
  "stale",
  "over_budget",
] as const;
export type FailureMode = (typeof FAILURE_MODES)[number];

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
  /**
   * The producer's W3C trace context (`00-<trace id>-<span id>-<flags>`): syncdesk's spans of
   * this event continue that trace. A malformed one is ignored (as W3C asks), never a rejection.
   */
  traceparent: z.string().max(512).optional(),
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
