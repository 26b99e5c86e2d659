/** The exceptions feature's internal job (joined into the worker's table by src/app/jobs.ts). */
import { z } from "zod";
import type { JobDataOf, JobSpec } from "../platform/queue/catalog.js";
import { enqueuer } from "../platform/queue/queues.js";

export const cardJobs = {
  /** Posts or refreshes the card of one exception from its row. */
  "cards.sync": {
    schema: z.object({ exceptionId: z.number().int().positive() }),
    options: { attempts: 12 },
  },
} satisfies Record<string, JobSpec>;

export type CardJobData = JobDataOf<typeof cardJobs, "cards.sync">;
export const enqueueCardJob = enqueuer(cardJobs);
