/**
 * The outcome contract: what a pipeline reports on `inventory-sync-outcomes` besides failures.
 *
 * - `sync.succeeded`: a delivery got through. Resolves open exceptions of its client, SKU and
 *   target (recovery) and counts as a delivery of its pipeline; with `triggeredAt` it is timed
 *   (time-to-sync = occurredAt − triggeredAt). The fields added for deliveries are optional,
 *   so what producers sent before still fits.
 * - `sync.started`: a delivery began (for producers that want per-message latency gates).
 * - `sync.batch`: up to 1,000 of the two above in one job, each judged on its own.
 */
import type { JobsOptions, Queue } from "bullmq";
import { z } from "zod";
import { instant } from "../intake/failure-event.schema.js";

const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max);

export const outcomeEventSchema = z.strictObject({
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

export const startedEventSchema = z.strictObject({
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
export const batchEventSchema = z.strictObject({
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

export const DEFAULT_OUTCOME_QUEUE = "inventory-sync-outcomes";

const jobOptions: JobsOptions = {
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Reports one successful delivery (job name `sync.succeeded`). */
export async function reportSyncSuccess(queue: Queue, event: OutcomeEventInput): Promise<void> {
  await queue.add("sync.succeeded", outcomeEventSchema.parse(event), jobOptions);
}

/** Reports that a delivery began (job name `sync.started`). */
export async function reportSyncStarted(queue: Queue, event: StartedEventInput): Promise<void> {
  await queue.add("sync.started", startedEventSchema.parse(event), jobOptions);
}

/**
 * Reports many deliveries, in `sync.batch` jobs of at most 1,000 events. Each event is
 * validated here first, so a producer learns of a bad one at its own call site.
 */
export async function reportDeliveries(
  queue: Queue,
  events: readonly DeliveryEventInput[],
): Promise<void> {
  const parsed = events.map((event) => deliveryEventSchema.parse(event));
  const jobs = [];
  for (let at = 0; at < parsed.length; at += MAX_BATCH_EVENTS) {
    jobs.push({
      name: "sync.batch",
      data: { kind: "sync.batch", events: parsed.slice(at, at + MAX_BATCH_EVENTS) },
      opts: jobOptions,
    });
  }
  if (jobs.length) await queue.addBulk(jobs);
}
