/**
 * The reconciliation feature's job handlers and schedules: a completed snapshot reconciles its
 * pairs, RECON_CRON reconciles every client with a source of truth, a sweep expires snapshots
 * that never arrived whole. All at-least-once: a snapshot-started pair is compared once, a
 * scheduled run twice is two runs with the same delta hash.
 */
import type { Deps } from "../app/deps.js";
import type { JobHandlers } from "../platform/queue/catalog.js";
import type { Queues } from "../platform/queue/queues.js";
import { driftFromRun } from "./drift.js";
import { reconcileClient, reconcileSnapshot } from "./recon.service.js";
import { enqueueRecon, type reconJobs } from "./recon-jobs.schema.js";
import { uploadDeltaFile } from "./report-file.js";
import type { RunSummary } from "./run-summary.js";
import { expireStaleSnapshots } from "./snapshots.job.js";

export const RECON_OFF = "off";
const NIGHTLY_ID = "recon-nightly";
const EXPIRE_ID = "recon-expire";

export function reconJobHandlers(deps: Deps): JobHandlers<typeof reconJobs> {
  return {
    "recon.snapshot": async (data) => {
      const runs = await reconcileSnapshot(deps, data.snapshotKey);
      await afterRuns(deps, runs);
      return { runs: runs.map((run) => run.runId) };
    },
    "recon.run": async (data) => {
      const result = await reconcileClient(deps, data);
      if (result.ok) await afterRuns(deps, result.runs);
      return result.ok ? { runs: result.runs.map((run) => run.runId) } : result;
    },
    "recon.report-file": async (data) => ({ fileId: await uploadDeltaFile(deps, data.runId) }),
    "recon.drift": async (data) => driftFromRun(deps, data.runId),
    "recon.nightly": async (_data, job) => {
      const { config } = deps.routing.current();
      const clients = Object.keys(config.clients).sort();
      // A scheduler job's id ends with its tick (epoch ms); ours may not contain ':'.
      const tick = /(\d+)$/.exec(job.id ?? "")?.[1] ?? String(job.timestamp);
      for (const client of clients) {
        // One job per client and tick: a nightly job run twice adds each once.
        await enqueueRecon(
          deps.queues,
          "recon.run",
          { client, startedBy: "schedule" },
          {
            jobId: `recon-nightly-${tick}-${Buffer.from(client).toString("base64url")}`,
          },
        );
      }
      return { clients: clients.length };
    },
    "recon.expire": async () => ({ expired: await expireStaleSnapshots(deps) }),
  };
}

/** After a run committed: its CSV file (a job of its own; its id makes a repeat one job). */
async function afterRuns(deps: Deps, runs: RunSummary[]): Promise<void> {
  for (const run of runs) {
    if (run.outcome !== "compared") continue;
    // Every compared run: its deltas open drift, and its matches may recover earlier ones.
    await enqueueRecon(
      deps.queues,
      "recon.drift",
      { runId: run.runId },
      { jobId: `recon-drift-${run.runId}` },
    );
    if (run.mismatched + run.missing + run.unexpected === 0) continue;
    await enqueueRecon(
      deps.queues,
      "recon.report-file",
      { runId: run.runId },
      { jobId: `recon-file-${run.runId}` },
    );
  }
}

/** One schedule of each across replicas; "off" removes the nightly run. */
export async function scheduleRecon(
  queues: Pick<Queues, "internal">,
  settings: { cron: string; tz: string; windowMs: number },
): Promise<void> {
  if (settings.cron === RECON_OFF) await queues.internal.removeJobScheduler(NIGHTLY_ID);
  else {
    await queues.internal.upsertJobScheduler(
      NIGHTLY_ID,
      { pattern: settings.cron, tz: settings.tz },
      {
        name: "recon.nightly",
        data: {},
        opts: { attempts: 3, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: 100 },
      },
    );
  }
  // Expiry is checked a few times per window (at least every 5 minutes, at most every 5 s).
  const every = Math.min(300_000, Math.max(5_000, Math.floor(settings.windowMs / 4)));
  await queues.internal.upsertJobScheduler(
    EXPIRE_ID,
    { every },
    { name: "recon.expire", data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
  );
}
