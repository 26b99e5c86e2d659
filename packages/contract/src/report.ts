/**
 * Report helpers for producers on BullMQ: each validates the event first, so a producer learns
 * of a bad one at its own call site, then adds it with the contract's job name, id and options.
 * They take the producer's own `Queue` (any object with BullMQ's `add` and `addBulk`), so
 * bullmq is a peer of this package, never a dependency of it.
 */
import {
  type DeliveryEventInput,
  deliveryEventSchema,
  MAX_BATCH_EVENTS,
  type OutcomeEventInput,
  outcomeEventSchema,
  type StartedEventInput,
  startedEventSchema,
} from "./delivery-events.js";
import { type FailureEventInput, failureEventSchema } from "./failure-event.js";
import {
  type ContractJobOptions,
  DELIVERY_JOB_OPTIONS,
  FAILURE_JOB_OPTIONS,
  failureJobId,
  JOB_NAMES,
} from "./queues.js";

/** What the helpers use of a BullMQ `Queue` (`new Queue(FAILURE_QUEUE, { connection, prefix })`). */
export interface ProducerQueue {
  add(name: string, data: unknown, opts?: ContractJobOptions): Promise<unknown>;
  addBulk(jobs: { name: string; data: unknown; opts?: ContractJobOptions }[]): Promise<unknown>;
}

/**
 * Reports a failed sync (job `sync.failed` on the failures queue). The job id comes from the
 * eventId, so a producer that reports the same failure twice (at-least-once pipelines do)
 * adds one job. Resolves with that job id.
 */
export async function reportSyncFailure(
  queue: ProducerQueue,
  event: FailureEventInput,
): Promise<string> {
  const parsed = failureEventSchema.parse(event);
  // A producer running OpenTelemetry hands its active trace on, unless the event names one.
  parsed.traceparent ??= await activeTraceparent();
  if (parsed.traceparent === undefined) delete parsed.traceparent;
  const jobId = failureJobId(parsed.eventId);
  await queue.add(JOB_NAMES.failure, parsed, { jobId, ...FAILURE_JOB_OPTIONS });
  return jobId;
}

/** Reports one successful delivery (job `sync.succeeded` on the outcomes queue). */
export async function reportSyncSuccess(
  queue: ProducerQueue,
  event: OutcomeEventInput,
): Promise<void> {
  await queue.add(JOB_NAMES.succeeded, outcomeEventSchema.parse(event), DELIVERY_JOB_OPTIONS);
}

/** Reports that a delivery began (job `sync.started` on the outcomes queue). */
export async function reportSyncStarted(
  queue: ProducerQueue,
  event: StartedEventInput,
): Promise<void> {
  await queue.add(JOB_NAMES.started, startedEventSchema.parse(event), DELIVERY_JOB_OPTIONS);
}

/**
 * Reports many deliveries in `sync.batch` jobs of at most 1,000 events (one round trip for
 * all of them). Every event is validated first; one bad event throws before anything is added.
 */
export async function reportSyncBatch(
  queue: ProducerQueue,
  events: readonly DeliveryEventInput[],
): Promise<void> {
  const parsed = events.map((event) => deliveryEventSchema.parse(event));
  const jobs = [];
  for (let at = 0; at < parsed.length; at += MAX_BATCH_EVENTS) {
    jobs.push({
      name: JOB_NAMES.batch,
      data: { kind: JOB_NAMES.batch, events: parsed.slice(at, at + MAX_BATCH_EVENTS) },
      opts: { ...DELIVERY_JOB_OPTIONS },
    });
  }
  if (jobs.length) await queue.addBulk(jobs);
}

/** The name `reportSyncBatch` had before the producer kit. */
export const reportDeliveries = reportSyncBatch;

/**
 * The active span's W3C trace context when the producer runs OpenTelemetry (the optional peer
 * `@opentelemetry/api`); undefined when it does not or no span is active.
 */
async function activeTraceparent(): Promise<string | undefined> {
  const api = await import("@opentelemetry/api").catch(() => null);
  const span = api?.trace.getActiveSpan()?.spanContext();
  if (!api || !span || !api.trace.isSpanContextValid(span)) return undefined;
  return `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`;
}
