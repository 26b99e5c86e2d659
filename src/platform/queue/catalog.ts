/**
 * The catalog of syncdesk's own jobs: name -> payload schema and retry policy. Every internal
 * job goes through `enqueue()` with a typed payload and is parsed again by the worker, so a
 * payload that does not fit is recorded and failed for good instead of retried blindly.
 */
import type { JobsOptions } from "bullmq";
import { z } from "zod";

export const INTERNAL_QUEUE = "syncdesk";

const exceptionRef = z.object({ exceptionId: z.number().int().positive() });

export const jobCatalog = {
  /** Looks up every retry job that syncdesk queued and applies finished ones. */
  "retries.reconcile": { schema: z.object({}), options: { attempts: 1 } },
  /** Posts or refreshes the card of one exception from its row. */
  "cards.sync": { schema: exceptionRef, options: { attempts: 12 } },
  /** Posts the card of one rejected event. */
  "rejections.post": {
    schema: z.object({ rejectedId: z.number().int().positive() }),
    options: { attempts: 12 },
  },
} satisfies Record<string, { schema: z.ZodType; options: JobsOptions }>;

export type JobName = keyof typeof jobCatalog;
export type JobData<N extends JobName> = z.infer<(typeof jobCatalog)[N]["schema"]>;

export const defaultJobOptions: JobsOptions = {
  backoff: { type: "exponential", delay: 1000 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};
