/**
 * The catalog of syncdesk's own jobs: name -> payload schema and retry policy. Every internal
 * job goes through `enqueue()` with a typed payload and is parsed again by the worker, so a
 * payload that does not fit is recorded and failed for good instead of retried blindly.
 */
import type { JobsOptions } from "bullmq";
import { z } from "zod";
import { SLA_STEP_KINDS } from "../../sla/policy.js";
import {
  stormCardJob,
  stormClaimMembersJob,
  stormEndCheckJob,
  stormResolveMembersJob,
  stormRetryAllJob,
  stormRetryMemberJob,
} from "../../storms/storm-jobs.schema.js";

export const INTERNAL_QUEUE = "syncdesk";

const exceptionRef = z.object({ exceptionId: z.number().int().positive() });

export const jobCatalog = {
  /** Looks up every retry job that syncdesk queued and applies finished ones. */
  "retries.reconcile": { schema: z.object({}), options: { attempts: 1 } },
  /** Re-queues failed intake jobs (failures, outcomes) once their cause may be gone. */
  "intake.sweep": {
    schema: z.object({ baseDelayMs: z.number().int().positive() }),
    options: { attempts: 1 },
  },
  /** Posts or refreshes the card of one exception from its row. */
  "cards.sync": { schema: exceptionRef, options: { attempts: 12 } },
  /** Posts the card of one rejected event. */
  "rejections.post": {
    schema: z.object({ rejectedId: z.number().int().positive() }),
    options: { attempts: 12 },
  },
  /** Wakes up at an SLA deadline; re-reads the exception and fires the step if it still applies. */
  "sla.step": {
    schema: z.object({
      exceptionId: z.number().int().positive(),
      kind: z.enum(SLA_STEP_KINDS),
      index: z.number().int().min(0),
      /** The deadline the timer was armed for (epoch ms); part of its job id. */
      dueAt: z.number().int(),
      /** > 0 when a timer that woke too early was armed again. */
      rearm: z.number().int().min(0),
    }),
    options: { attempts: 5 },
  },
  /** Re-arms SLA deadlines that passed with no live timer (a lost Redis key, a failed job). */
  "sla.sweep": { schema: z.object({}), options: { attempts: 1 } },
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
  /** An exception of this role changed: book Home publishes for its viewers (one per slot). */
  "home.fanout": {
    schema: z.object({ role: z.string().min(1) }),
    options: { attempts: 5, removeOnComplete: true },
  },
  /** Republishes one user's App Home tab (booked by home.fanout, paced per user). */
  "home.refresh": {
    schema: z.object({ userId: z.string().regex(/^[UW][A-Z0-9]+$/) }),
    options: { attempts: 5, removeOnComplete: true, removeOnFail: 100 },
  },
  /** Retention: prunes old payloads and audit rows in batches (src/retention, issue 15). */
  "retention.prune": { schema: z.object({}), options: { attempts: 1 } },
  /** The weekly digest; fired by the DIGEST_CRON job scheduler, keyed by its tick. */
  "digest.send": { schema: z.object({}), options: { attempts: 5 } },
} satisfies Record<string, { schema: z.ZodType; options: JobsOptions }>;

export type JobName = keyof typeof jobCatalog;
export type JobData<N extends JobName> = z.infer<(typeof jobCatalog)[N]["schema"]>;

export const defaultJobOptions: JobsOptions = {
  backoff: { type: "exponential", delay: 1000 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};
