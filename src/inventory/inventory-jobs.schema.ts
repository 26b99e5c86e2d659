/** The inventory feature's internal jobs (joined into the worker's table by src/app/jobs.ts). */
import { z } from "zod";
import type { JobSpec } from "../platform/queue/catalog.js";
import { enqueuer } from "../platform/queue/queues.js";

export const inventoryJobs = {
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
  /** The long windows' figures of every client and role, computed ahead (figure-snapshots.ts). */
  "status.figures": {
    schema: z.object({}),
    options: { attempts: 1, removeOnComplete: true, removeOnFail: 100 },
  },
  /** The weekly digest; fired by the DIGEST_CRON job scheduler, keyed by its tick. */
  "digest.send": { schema: z.object({}), options: { attempts: 5 } },
} satisfies Record<string, JobSpec>;

export const enqueueInventoryJob = enqueuer(inventoryJobs);
