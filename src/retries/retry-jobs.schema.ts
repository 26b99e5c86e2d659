/** The retries feature's internal job (joined into the worker's table by src/app/jobs.ts). */
import { z } from "zod";
import type { JobSpec } from "../platform/queue/catalog.js";

export const retryJobs = {
  /** Looks up every retry job that syncdesk queued and applies finished ones. */
  "retries.reconcile": { schema: z.object({}), options: { attempts: 1 } },
} satisfies Record<string, JobSpec>;
