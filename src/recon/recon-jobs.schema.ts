/** The reconciliation feature's internal jobs (joined into the worker's table by src/app/jobs.ts). */
import { z } from "zod";
import type { JobSpec } from "../platform/queue/catalog.js";
import { enqueuer } from "../platform/queue/queues.js";

export const reconJobs = {
  /** A snapshot completed: reconcile the pairs it completes (src/recon/recon.job.ts). */
  "recon.snapshot": {
    schema: z.object({ client: z.string().min(1), snapshotKey: z.coerce.number().int() }),
    options: { attempts: 5 },
  },
  /** Reconciles one client now: every consumer against its source of truth. */
  "recon.run": {
    schema: z.object({
      client: z.string().min(1),
      /** A Slack user id, or `schedule`. */
      startedBy: z.string().min(1),
    }),
    options: { attempts: 3 },
  },
  /** Uploads a run's full delta list as a CSV file to the owner's channel. */
  "recon.report-file": {
    schema: z.object({ runId: z.number().int() }),
    options: { attempts: 5, backoff: { type: "exponential", delay: 5000 } },
  },
  /** A run's mismatched and missing SKUs become drift exceptions; matched ones recover. */
  "recon.drift": {
    schema: z.object({ runId: z.number().int() }),
    options: { attempts: 5, backoff: { type: "exponential", delay: 5000 } },
  },
  /** RECON_CRON: a recon.run for every client with a source of truth. */
  "recon.nightly": { schema: z.object({}), options: { attempts: 3 } },
  /** Expires snapshots that did not arrive whole within RECON_WINDOW. */
  "recon.expire": { schema: z.object({}), options: { attempts: 1 } },
} satisfies Record<string, JobSpec>;

export const enqueueRecon = enqueuer(reconJobs);
