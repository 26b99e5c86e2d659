/** The latency gates' internal jobs (joined into the worker's table by src/app/jobs.ts). */
import { z } from "zod";
import type { JobSpec } from "../platform/queue/catalog.js";
import { enqueuer } from "../platform/queue/queues.js";

export const gateJobs = {
  /** Wakes at a second of started deliveries' deadlines; judges every overdue one. */
  "gate.late": {
    schema: z.object({ dueAt: z.number().int() }),
    options: { attempts: 5 },
  },
  /** Wakes at a pipeline's stale deadline; judges it again and arms the next. */
  "gate.stale": {
    schema: z.object({ pipeline: z.string().min(1).max(64), dueAt: z.number().int() }),
    options: { attempts: 5 },
  },
  /** Repairs lost gate timers and judges every pipeline's time-to-sync budget. */
  "gate.sweep": { schema: z.object({}), options: { attempts: 1 } },
} satisfies Record<string, JobSpec>;

export const enqueueGateJob = enqueuer(gateJobs);
