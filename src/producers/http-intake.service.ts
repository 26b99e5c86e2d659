/**
 * Takes one HTTP batch in: each item judged as the queue path judges it, good events added to
 * the same queues with the same job ids and options a BullMQ producer uses (so a repeat sent
 * either way makes no second job), and bad ones stored as the queue path stores them (failure
 * events as rejected events, deliveries counted in their groups, snapshot parts refused with
 * their snapshot), marked with the producer
 * that sent them. Idempotent by eventId: an event the desk already has is reported as a
 * duplicate and not added again.
 */
import { createHash } from "node:crypto";
import type { Deps } from "../app/deps.js";
import type { RejectedRecord } from "../deliveries/delivery.js";
import { flushRecords } from "../deliveries/flush.repo.js";
import { recordRejection } from "../intake/intake.service.js";
import { rejectionTargetOf } from "../intake/rejection-groups.js";
import { type Problem, rawText } from "../intake/validation.js";
import { DELIVERY_JOB_OPTIONS } from "../outcomes/outcome-event.schema.js";
import { FAILURE_JOB_OPTIONS } from "../platform/contracts/failure-event.schema.js";
import { SNAPSHOT_JOB, SNAPSHOT_JOB_OPTIONS } from "../platform/contracts/snapshot-part.schema.js";
import { handleSnapshotJob } from "../recon/snapshots.job.js";
import { judgeItem } from "./http-batch.js";
import { knownEvents } from "./known-events.repo.js";

export interface ItemResult {
  /** The item's place in the request's `events` list. */
  index: number;
  status: "accepted" | "duplicate" | "rejected";
  eventId?: string;
  /** The failure job's id (`event-<base64url(eventId)>`), as a BullMQ producer would add it. */
  jobId?: string;
  /** What was wrong, field by field (paths inside `data`), when rejected. */
  problems?: Problem[];
}

export interface Sender {
  id: number;
  name: string;
}

export async function takeEvents(
  deps: Deps,
  sender: Sender,
  items: readonly unknown[],
): Promise<ItemResult[]> {
  const { config } = deps.routing.current();
  const judged = items.map((item) => judgeItem(item, config, deps.queues.own));
  const results: ItemResult[] = new Array(judged.length);

  // Duplicates: within the request, then what the desk already has (Postgres) or still
  // holds as a job (Redis, by the failure job id).
  const keyOf = (index: number): string | null => {
    const item = judged[index];
    if (item?.kind === "failure") return `f:${item.event.eventId}`;
    if (item?.kind === "snapshot") return `p:${item.jobId}`;
    if (item?.kind !== "delivery" || item.event.eventId === undefined) return null;
    return `${item.event.kind === "sync.started" ? "s" : "d"}:${item.event.eventId}`;
  };
  const ids = { failures: [] as string[], succeeded: [] as string[], started: [] as string[] };
  for (const item of judged) {
    if (item.kind === "failure") ids.failures.push(item.event.eventId);
    if (item.kind === "delivery" && item.event.eventId !== undefined)
      (item.event.kind === "sync.started" ? ids.started : ids.succeeded).push(item.event.eventId);
  }
  const known = await knownEvents(deps.db, ids);
  // Failures and snapshot parts have job ids: one still held by its queue is a repeat too.
  const jobItems = judged.flatMap((item, index) =>
    item.kind === "failure" || item.kind === "snapshot" ? [{ item, index }] : [],
  );
  if (jobItems.length) {
    const pipeline = deps.queues.connection.pipeline();
    for (const { item } of jobItems) {
      const queue = item.kind === "failure" ? deps.queues.failures : deps.queues.snapshots;
      pipeline.exists(queue.toKey(item.jobId));
    }
    const exists = (await pipeline.exec()) ?? [];
    jobItems.forEach(({ index }, at) => {
      const [error, count] = exists[at] ?? [];
      if (error) throw error;
      const key = keyOf(index);
      if (count === 1 && key !== null) known.add(key);
    });
  }

  const failureJobs: { name: string; data: unknown; opts: object }[] = [];
  const deliveryJobs: { name: string; data: unknown; opts: object }[] = [];
  const snapshotJobs: { name: string; data: unknown; opts: object }[] = [];
  const seen = new Set<string>();
  judged.forEach((item, index) => {
    if (item.kind === "rejected") return;
    const key = keyOf(index);
    const eventId = item.kind === "snapshot" ? undefined : item.event.eventId;
    const jobId = item.kind === "delivery" ? undefined : item.jobId;
    const base = {
      index,
      ...(eventId !== undefined ? { eventId } : {}),
      ...(jobId ? { jobId } : {}),
    };
    if (key !== null && (seen.has(key) || known.has(key))) {
      results[index] = { ...base, status: "duplicate" };
      return;
    }
    if (key !== null) seen.add(key);
    results[index] = { ...base, status: "accepted" };
    if (item.kind === "failure") {
      failureJobs.push({
        name: "sync.failed",
        data: item.event,
        opts: { jobId: item.jobId, ...FAILURE_JOB_OPTIONS },
      });
    } else if (item.kind === "snapshot") {
      snapshotJobs.push({
        name: SNAPSHOT_JOB,
        data: item.part,
        opts: { jobId: item.jobId, ...SNAPSHOT_JOB_OPTIONS },
      });
    } else {
      deliveryJobs.push({
        name: item.event.kind,
        data: item.event,
        opts: { ...DELIVERY_JOB_OPTIONS },
      });
    }
  });
  if (failureJobs.length) await deps.queues.failures.addBulk(failureJobs);
  if (deliveryJobs.length) await deps.queues.outcomes.addBulk(deliveryJobs);
  if (snapshotJobs.length) await deps.queues.snapshots.addBulk(snapshotJobs);

  // Rejections, stored as the queue path stores them, with the producer's name.
  const deliveryRejections: RejectedRecord[] = [];
  for (const [index, item] of judged.entries()) {
    if (item.kind !== "rejected") continue;
    results[index] = {
      index,
      status: "rejected",
      ...(item.eventId ? { eventId: item.eventId } : {}),
      problems: item.problems,
    };
    // Named by the producer and the content: the same bad event sent again is one row.
    const digest = () => createHash("sha256").update(rawText(item.data)).digest("hex").slice(0, 24);
    if (item.contract === "failure") {
      await recordRejection(
        deps,
        { id: `http-${sender.id}-${digest()}`, data: item.data },
        item.problems,
        sender.name,
      );
    } else if (item.contract === "snapshot") {
      // Refused as the snapshot worker refuses a part that breaks the contract: kept with its
      // reason, its snapshot never completes, and the client's owner is told.
      await handleSnapshotJob(deps, { id: `http-${sender.id}-${digest()}`, data: item.data });
    } else {
      const first = item.problems[0] ?? { path: "(event)", message: "is not a delivery event" };
      deliveryRejections.push({
        kind: "rejected",
        // Grouped by who sent it: over HTTP that is the producer, whatever sourceSystem says.
        source: sender.name,
        problem: `${first.path}: ${first.message}`.slice(0, 300),
        sample: rawText(item.data, 2000),
      });
    }
  }
  if (deliveryRejections.length) {
    await flushRecords(deps.db, deliveryRejections, {
      receivedAt: deps.clock.now().getTime(),
      // The producer's role's channel (routing `producers:`), grouped like every rejection.
      rejectionTarget: rejectionTargetOf(deps.routing.current().config),
    });
  }
  return results;
}
