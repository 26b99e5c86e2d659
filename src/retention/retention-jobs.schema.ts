/** The retention feature's internal job (joined into the worker's table by src/app/jobs.ts). */
import { z } from "zod";
import type { JobSpec } from "../platform/queue/catalog.js";
import { enqueuer } from "../platform/queue/queues.js";

export const retentionJobs = {
  /** Prunes old payloads and audit rows in batches (src/retention/retention.job.ts). */
  "retention.prune": { schema: z.object({}), options: { attempts: 1 } },
} satisfies Record<string, JobSpec>;

export const enqueueRetentionJob = enqueuer(retentionJobs);
