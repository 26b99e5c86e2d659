/** The storms feature's internal jobs (joined into the worker's table by src/app/jobs.ts). */
import { z } from "zod";
import { ROOT_CAUSES } from "../platform/db/schema.js";
import type { JobDataOf, JobSpec } from "../platform/queue/catalog.js";
import { enqueuer } from "../platform/queue/queues.js";

const stormId = z.number().int().positive();
const actor = z.object({ userId: z.string().min(1).max(64), name: z.string().max(200) });

/** Post a storm card (`post`), or redraw it from the rows (coalesced: one per storm per slot). */
export const stormCardJob = z.object({ stormId, post: z.boolean().optional() });

/** Is the storm quiet yet? `dueAt` (ms) is when it would be, as scheduled. */
export const stormEndCheckJob = z.object({ stormId, dueAt: z.number().int().nonnegative() });

/** Claim, for the person who claimed the storm, every open member that arrived by `asOf` (ms). */
export const stormClaimMembersJob = z.object({
  stormId,
  actor,
  asOf: z.number().int().nonnegative(),
});

/** Retry all: queue the paced retries of every member `actor` may retry (arrived by `asOf`). */
export const stormRetryAllJob = z.object({
  stormId,
  actor,
  asOf: z.number().int().nonnegative(),
});

/** One member's retry, paced by the job's delay. */
export const stormRetryMemberJob = z.object({
  stormId,
  exceptionId: z.number().int().positive(),
  actor,
});

/** Resolve every unresolved member that arrived by `asOf` (ms) with one note and root cause. */
export const stormResolveMembersJob = z.object({
  stormId,
  actor,
  asOf: z.number().int().nonnegative(),
  note: z.string().min(1).max(2000),
  rootCause: z.enum(ROOT_CAUSES),
});

export const stormJobs = {
  /**
   * Storm card posts and redraws of earlier releases: the Slack outbox has them now, and a job
   * still in Redis after an upgrade only hands over to it. Nothing queues this any more.
   */
  "storms.card": { schema: stormCardJob, options: { attempts: 12, removeOnComplete: true } },
  /** Ends a storm after its quiet window, or checks again later. */
  "storms.end-check": { schema: stormEndCheckJob, options: { attempts: 12 } },
  /** Claim storm: claims its open members one by one through the exception service. */
  "storms.claim-members": { schema: stormClaimMembersJob, options: { attempts: 5 } },
  /** Retry all: lists the members and queues their paced retries. */
  "storms.retry-all": { schema: stormRetryAllJob, options: { attempts: 5 } },
  /** Retry all: one member's retry, delayed to pace the producer's queue. */
  "storms.retry-member": { schema: stormRetryMemberJob, options: { attempts: 5 } },
  /** Resolve all: resolves its members a batch per transaction (src/exceptions/bulk-resolve.ts). */
  "storms.resolve-members": { schema: stormResolveMembersJob, options: { attempts: 5 } },
} satisfies Record<string, JobSpec>;

export type StormJobName = keyof typeof stormJobs;
export type StormJobData<N extends StormJobName> = JobDataOf<typeof stormJobs, N>;
export const enqueueStormJob = enqueuer(stormJobs);
