/** The SLA feature's internal jobs (joined into the worker's table by src/app/jobs.ts). */
import { z } from "zod";
import type { JobDataOf, JobSpec } from "../platform/queue/catalog.js";
import { bulkEnqueuer, enqueuer } from "../platform/queue/queues.js";
import { SLA_STEP_KINDS } from "./policy.js";

export const slaJobs = {
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
} satisfies Record<string, JobSpec>;

export type SlaStepJob = JobDataOf<typeof slaJobs, "sla.step">;
export const enqueueSlaJob = enqueuer(slaJobs);
export const enqueueSlaJobs = bulkEnqueuer(slaJobs);
