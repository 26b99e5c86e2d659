/**
 * What one item of a `POST /v1/events` batch is: the item names its job as a BullMQ producer
 * would (`name`) and carries the job's data (`data`), checked by the same schemas and checks
 * the queue path uses (src/intake/validation.ts), so an event fares alike by either way in.
 * Pure: the routing config and the desk's own queue names are handed in.
 */
import { z } from "zod";
import { failureJobId } from "../intake/failure-event.schema.js";
import { check, claimedEventId, type Problem } from "../intake/validation.js";
import {
  type DeliveryEvent,
  deliveryEventSchema,
  outcomeEventSchema,
  startedEventSchema,
} from "../outcomes/outcome-event.schema.js";
import {
  type FailureEvent,
  failureEventSchema,
} from "../platform/contracts/failure-event.schema.js";
import {
  type SnapshotPart,
  snapshotPartJobId,
  snapshotPartSchema,
} from "../platform/contracts/snapshot-part.schema.js";
import { retryTargetProblem } from "../retries/retry-target.js";
import type { RoutingConfig } from "../routing/routing-file.schema.js";

/** Items per request: a producer with more sends more requests. */
export const MAX_HTTP_EVENTS = 500;
export const HTTP_EVENT_NAMES = [
  "sync.failed",
  "sync.succeeded",
  "sync.started",
  "snapshot.part",
] as const;
export type HttpEventName = (typeof HTTP_EVENT_NAMES)[number];

export type JudgedItem =
  | { kind: "failure"; event: FailureEvent; jobId: string }
  | { kind: "delivery"; event: DeliveryEvent }
  | { kind: "snapshot"; part: SnapshotPart; jobId: string }
  | {
      kind: "rejected";
      /**
       * Which contract it broke: failures are kept one by one, deliveries counted in groups,
       * snapshot parts refused with their snapshot (src/recon).
       */
      contract: Contract;
      data: unknown;
      eventId: string | null;
      problems: Problem[];
    };

type Contract = "failure" | "delivery" | "snapshot";

const contractOf = (name: unknown): Contract =>
  name === "sync.succeeded" || name === "sync.started"
    ? "delivery"
    : name === "snapshot.part"
      ? "snapshot"
      : "failure";

export function judgeItem(
  item: unknown,
  config: Pick<RoutingConfig, "retryQueues">,
  ownQueues: readonly string[],
): JudgedItem {
  const reject = (contract: Contract, data: unknown, problems: Problem[]) =>
    ({ kind: "rejected", contract, data, eventId: claimedEventId(data), problems }) as const;
  if (typeof item !== "object" || item === null || Array.isArray(item)) {
    return reject("failure", item, [
      { path: "(item)", message: 'must be an object { "name": …, "data": { … } }' },
    ]);
  }
  const { name, data } = item as { name?: unknown; data?: unknown };
  if (typeof name !== "string" || !(HTTP_EVENT_NAMES as readonly string[]).includes(name)) {
    return reject(contractOf(name), data ?? item, [
      {
        path: "name",
        message: `must be one of ${HTTP_EVENT_NAMES.join(", ")}${typeof name === "string" ? ` (was "${name.slice(0, 50)}")` : ""}`,
      },
    ]);
  }
  const contract = contractOf(name);
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return reject(contract, data, [{ path: "data", message: "must be the event, a JSON object" }]);
  }
  if (contract === "failure") {
    const checked = check(failureEventSchema, data);
    if (!checked.ok) return reject(contract, data, checked.problems);
    const refused = retryTargetProblem(checked.value.retry, config, ownQueues);
    if (refused) return reject(contract, data, [refused]);
    return { kind: "failure", event: checked.value, jobId: failureJobId(checked.value.eventId) };
  }
  if (contract === "snapshot") {
    const checked = check(snapshotPartSchema, data);
    if (!checked.ok) return reject(contract, data, checked.problems);
    const part = checked.value;
    return { kind: "snapshot", part, jobId: snapshotPartJobId(part.snapshotId, part.part) };
  }
  const checked = check(deliveryEventSchema, data);
  if (!checked.ok) return reject(contract, data, checked.problems);
  if (checked.value.kind !== name) {
    return reject(contract, data, [
      { path: "kind", message: `is "${checked.value.kind}" but the item's name is "${name}"` },
    ]);
  }
  return { kind: "delivery", event: checked.value };
}

/** The request body's shape, before its items are judged one by one. */
export function batchShapeProblem(body: unknown): { code: string; message: string } | null {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return { code: "invalid_body", message: 'The body must be a JSON object { "events": [ … ] }.' };
  const { events } = body as { events?: unknown };
  if (!Array.isArray(events))
    return {
      code: "invalid_body",
      message: '"events" must be a list of { "name", "data" } items.',
    };
  if (events.length === 0) return { code: "invalid_body", message: '"events" is empty.' };
  if (events.length > MAX_HTTP_EVENTS)
    return {
      code: "too_many_events",
      message: `"events" holds ${events.length} items; at most ${MAX_HTTP_EVENTS} per request.`,
    };
  return null;
}

/** The request body as a zod schema: for the OpenAPI document only (items are judged above). */
export const httpBatchDocSchema = z.object({
  events: z
    .array(
      z.discriminatedUnion("name", [
        z.object({ name: z.literal("sync.failed"), data: failureEventSchema }),
        z.object({ name: z.literal("sync.succeeded"), data: outcomeEventSchema }),
        z.object({ name: z.literal("sync.started"), data: startedEventSchema }),
        z.object({ name: z.literal("snapshot.part"), data: snapshotPartSchema }),
      ]),
    )
    .min(1)
    .max(MAX_HTTP_EVENTS),
});
