/** The intake feature's internal jobs (joined into the worker's table by src/app/jobs.ts). */
import { z } from "zod";
import type { JobSpec } from "../platform/queue/catalog.js";

export const intakeJobs = {
  /** Re-queues failed intake jobs (failures, outcomes) once their cause may be gone. */
  "intake.sweep": {
    schema: z.object({ baseDelayMs: z.number().int().positive() }),
    options: { attempts: 1 },
  },
  /** Posts the card of one rejected event. */
  "rejections.post": {
    schema: z.object({ rejectedId: z.number().int().positive() }),
    options: { attempts: 12 },
  },
} satisfies Record<string, JobSpec>;
