/**
 * Where events go and how their jobs are named: the same constants the desk reads with, so a
 * producer on BullMQ and the HTTP intake (which enqueues onto the same queues) add alike.
 * Queue names are the desk's defaults (`FAILURE_QUEUE`, `OUTCOME_QUEUE`); the key prefix is
 * the desk's `QUEUE_PREFIX` (BullMQ's default `bull`).
 */

export const FAILURE_QUEUE = "inventory-sync-failures";
export const OUTCOME_QUEUE = "inventory-sync-outcomes";
export const SNAPSHOT_QUEUE = "inventory-snapshots";
/** Earlier names of the two constants above. */
export const DEFAULT_FAILURE_QUEUE = FAILURE_QUEUE;
export const DEFAULT_OUTCOME_QUEUE = OUTCOME_QUEUE;

/** Job names: a failure on the failures queue, a snapshot part on the snapshots queue; the rest on the outcomes queue. */
export const JOB_NAMES = {
  failure: "sync.failed",
  succeeded: "sync.succeeded",
  started: "sync.started",
  batch: "sync.batch",
  snapshotPart: "snapshot.part",
} as const;
export type JobName = (typeof JOB_NAMES)[keyof typeof JOB_NAMES];

/** The options of a job the helpers add (BullMQ's names; a subset of its `JobsOptions`). */
export interface ContractJobOptions {
  jobId?: string;
  removeOnComplete?: { age: number; count?: number };
  removeOnFail?: { age: number; count?: number };
}

/**
 * A failure job: kept a day once done (so a repeat of the same event is still recognised by
 * its job id), a week when it failed (the desk's sweeper retries it).
 */
export const FAILURE_JOB_OPTIONS = {
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const satisfies ContractJobOptions;

/** A delivery job: deliveries are many, so they are kept an hour once done. */
export const DELIVERY_JOB_OPTIONS = {
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const satisfies ContractJobOptions;

/** A snapshot part: kept an hour once done (a redelivered part is recognised by its row too). */
export const SNAPSHOT_JOB_OPTIONS = {
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const satisfies ContractJobOptions;

/**
 * The job id of a failure event: `event-` + base64url of the eventId's UTF-8 bytes, without
 * padding. One job per event however often it is sent (BullMQ ignores an add whose id exists);
 * BullMQ job ids may contain neither ':' nor look like integers, which this never does.
 */
export function failureJobId(eventId: string): string {
  return `event-${Buffer.from(eventId, "utf8").toString("base64url")}`;
}
