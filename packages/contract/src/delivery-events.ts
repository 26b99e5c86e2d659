/**
 * The delivery contract: what a pipeline reports on `inventory-sync-outcomes` besides failures.
 *
 * - `sync.succeeded`: a delivery got through. Resolves open exceptions of its client, SKU and
 *   target (recovery) and counts as a delivery of its pipeline; with `triggeredAt` it is timed
 *   (time-to-sync = occurredAt − triggeredAt). The fields added for deliveries are optional,
 *   so what producers sent before still fits.
 * - `sync.started`: a delivery began (for producers that want per-message latency gates).
 * - `sync.batch`: up to 1,000 of the two above in one job, each judged on its own.
 */
import { z } from "zod";
import { instant, text } from "./fields.js";

/**
 * The delivery contract's major version, as the failure contract's (failure-event.ts): absent
 * is 1, fields the desk does not know are never a reason to refuse an event (deliveries are
 * counted, not stored, so they are simply not read), and removing or retyping a field is a
 * new major version.
 */
export const DELIVERY_EVENT_VERSIONS = [1] as const;

const schemaVersion = z
  .literal(DELIVERY_EVENT_VERSIONS, {
    error: (issue) =>
      `is ${JSON.stringify(issue.input)}: this desk reads version ${DELIVERY_EVENT_VERSIONS.join(" or ")} of the delivery contract (leave it out for 1)`,
  })
  .optional();

export const outcomeEventSchema = z.looseObject({
  schemaVersion,
  kind: z.literal("sync.succeeded"),
  client: text(100),
  sku: text(200),
  targetSystem: text(100),
  /** When the delivery reached the target. */
  occurredAt: instant,
  /** The producer's id of the delivery: counted once, and it ends a started one. */
  eventId: text(200).optional(),
  sourceSystem: text(100).optional(),
  /** When the change happened in the system of record. */
  triggeredAt: instant.optional(),
  /** The stock level delivered. */
  quantity: z.number().finite().optional(),
});

export const startedEventSchema = z.looseObject({
  schemaVersion,
  kind: z.literal("sync.started"),
  eventId: text(200),
  client: text(100),
  sku: text(200),
  sourceSystem: text(100),
  targetSystem: text(100),
  triggeredAt: instant,
});

/** One delivery event, as sent alone or inside a batch. */
export const deliveryEventSchema = z.discriminatedUnion(
  "kind",
  [outcomeEventSchema, startedEventSchema],
  { error: 'expected kind "sync.succeeded" or "sync.started"' },
);

export const MAX_BATCH_EVENTS = 1000;

/** The batch's shape only: its events are checked one by one (one bad event never rejects it). */
export const batchEventSchema = z.looseObject({
  schemaVersion,
  kind: z.literal("sync.batch"),
  events: z
    .array(z.unknown(), { error: "expected a list of sync.started / sync.succeeded events" })
    .min(1, "must hold at least one event")
    .max(MAX_BATCH_EVENTS, `must hold at most ${MAX_BATCH_EVENTS} events`),
});

export type OutcomeEvent = z.infer<typeof outcomeEventSchema>;
export type OutcomeEventInput = z.input<typeof outcomeEventSchema>;
export type StartedEvent = z.infer<typeof startedEventSchema>;
export type StartedEventInput = z.input<typeof startedEventSchema>;
export type DeliveryEvent = z.infer<typeof deliveryEventSchema>;
export type DeliveryEventInput = z.input<typeof deliveryEventSchema>;
