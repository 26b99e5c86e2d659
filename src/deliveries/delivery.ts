/**
 * From what a producer sent to what the figures count: each delivery event judged on its own
 * (a batch's bad event never rejects the rest), placed in its pipeline, its clock skew clamped.
 * Pure: the routing config and the time of receipt are handed in.
 */
import { check, rawText } from "../intake/validation.js";
import {
  batchEventSchema,
  type DeliveryEvent,
  deliveryEventSchema,
} from "../outcomes/outcome-event.schema.js";
import { pipelineFor } from "../routing/evaluate.js";
import type { RoutingConfig } from "../routing/routing-file.schema.js";

/** The pipeline key of deliveries no declared pipeline takes. */
export const NO_PIPELINE = "";

export type DeliveryRecord =
  | {
      kind: "delivered";
      eventId?: string;
      pipeline: string;
      client: string;
      sku: string;
      targetSystem: string;
      /** Epoch ms the delivery reached the target (as reported). */
      occurredAt: number;
      /** Epoch ms the change happened in the system of record; unknown without triggeredAt. */
      triggeredAt?: number;
      /** The outcome job that reported it (recorded with a recovery it causes). */
      jobId?: string;
    }
  | {
      kind: "started";
      eventId: string;
      pipeline: string;
      client: string;
      sku: string;
      sourceSystem: string;
      targetSystem: string;
      triggeredAt: number;
      startedAt: number;
      /** triggeredAt + the pipeline's budget; null without a pipeline. */
      deadlineAt: number | null;
      /** triggeredAt was in the future: it was taken as the time of receipt. */
      clamped: boolean;
    }
  | {
      kind: "failed";
      eventId?: string;
      pipeline: string;
      client: string;
      targetSystem: string;
      occurredAt: number;
    }
  | { kind: "rejected"; source: string; problem: string; sample: string };

export type RejectedRecord = Extract<DeliveryRecord, { kind: "rejected" }>;

/** What a delivery job's data becomes: records for the figures, rejections grouped. */
export function judgeDeliveryJob(
  config: Pick<RoutingConfig, "pipelines">,
  data: unknown,
  receivedAt: number,
): DeliveryRecord[] {
  const kind = isRecord(data) ? data.kind : undefined;
  if (kind !== "sync.batch") return [judgeEvent(config, data, receivedAt)];
  // The batch's shape only (a full batch is larger than one event may be); then each event.
  const batch = batchEventSchema.safeParse(data);
  if (!batch.success) {
    const problems = batch.error.issues.map((issue) => ({
      path: issue.path.length ? issue.path.map(String).join(".") : "(event)",
      message: issue.message,
    }));
    return rejections(data, problems.slice(0, 1));
  }
  // The fast path: zod alone per event. check()'s text checks (NUL, lone surrogates, size)
  // stringify each event; they run on an event only when zod refuses it or the batch's text
  // shows such a character somewhere.
  const text = JSON.stringify(batch.data.events);
  const suspicious = /\\u(?:0000|[dD][89a-fA-F])/.test(text);
  return batch.data.events.map((event) => {
    if (!suspicious) {
      const parsed = deliveryEventSchema.safeParse(event);
      if (parsed.success) return toRecord(config, parsed.data, receivedAt);
    }
    return judgeEvent(config, event, receivedAt);
  });
}

function judgeEvent(
  config: Pick<RoutingConfig, "pipelines">,
  data: unknown,
  receivedAt: number,
): DeliveryRecord {
  const checked = check(deliveryEventSchema, data);
  if (!checked.ok) {
    // One group per event (its first problem): a record per bad event, never a card per one.
    return rejections(data, checked.problems.slice(0, 1))[0] as DeliveryRecord;
  }
  return toRecord(config, checked.value, receivedAt);
}

export function toRecord(
  config: Pick<RoutingConfig, "pipelines">,
  event: DeliveryEvent,
  receivedAt: number,
): DeliveryRecord {
  const pipeline = pipelineFor(config, event);
  const name = pipeline?.name ?? NO_PIPELINE;
  if (event.kind === "sync.succeeded") {
    return {
      kind: "delivered",
      ...(event.eventId === undefined ? {} : { eventId: event.eventId }),
      pipeline: name,
      client: event.client,
      sku: event.sku,
      targetSystem: event.targetSystem,
      occurredAt: Date.parse(event.occurredAt),
      ...(event.triggeredAt === undefined ? {} : { triggeredAt: Date.parse(event.triggeredAt) }),
    };
  }
  const triggered = Date.parse(event.triggeredAt);
  const clamped = triggered > receivedAt;
  const triggeredAt = clamped ? receivedAt : triggered;
  return {
    kind: "started",
    eventId: event.eventId,
    pipeline: name,
    client: event.client,
    sku: event.sku,
    sourceSystem: event.sourceSystem,
    targetSystem: event.targetSystem,
    triggeredAt,
    startedAt: receivedAt,
    deadlineAt: pipeline ? triggeredAt + pipeline.budgetMs : null,
    clamped,
  };
}

/**
 * Time-to-sync of a delivery: occurredAt − triggeredAt, never negative. A triggeredAt after
 * occurredAt (clock skew between producer hosts) is clamped to 0 and said so.
 */
export function timeToSync(
  occurredAt: number,
  triggeredAt: number | undefined,
): { ms: number; clamped: boolean } | null {
  if (triggeredAt === undefined) return null;
  const ms = occurredAt - triggeredAt;
  return ms < 0 ? { ms: 0, clamped: true } : { ms, clamped: false };
}

function rejections(
  data: unknown,
  problems: { path: string; message: string }[],
): RejectedRecord[] {
  const source =
    isRecord(data) && typeof data.sourceSystem === "string" && data.sourceSystem.trim() !== ""
      ? data.sourceSystem.trim().slice(0, 100)
      : "(unknown)";
  const sample = rawText(data, 2000);
  return problems.map((problem) => ({
    kind: "rejected",
    source: rawText(source, 120).replace(/^"|"$/g, ""),
    // Grouped by what is wrong (the path inside the event), never by where in which batch.
    problem: `${problem.path}: ${problem.message}`.slice(0, 300),
    sample,
  }));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
