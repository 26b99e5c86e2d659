/**
 * The worker role: the producers' failure and outcome queues, the internal queue (the job
 * table of src/app/jobs.ts) and the job schedulers (sweepers, reconcile, digest).
 */
import { handleFailureJob } from "../intake/intake.job.js";
import { scheduleDigest } from "../inventory/digest.job.js";
import { handleOutcomeJob } from "../outcomes/outcome.job.js";
import { INTERNAL_QUEUE } from "../platform/queue/catalog.js";
import { startWorker } from "../platform/queue/worker.js";
import type { Deps } from "./deps.js";
import { internalProcessor } from "./jobs.js";

export interface WorkerSettings {
  retryPollMs: number;
  lockMs: number;
  intakeSweepMs: number;
  slaSweepMs: number;
  /** Internal jobs (SLA timers, cards, storms, Home) one worker process runs at once. */
  jobConcurrency: number;
  digest: { cron: string; tz: string };
}

export async function startWorkers(
  deps: Deps,
  settings: WorkerSettings,
): Promise<{ close(): Promise<void> }> {
  const { queues, logger } = deps;
  const common = {
    connection: queues.connection,
    prefix: queues.prefix,
    logger,
    lockMs: settings.lockMs,
  };
  const failures = startWorker(queues.failures.name, (job) => handleFailureJob(deps, job), common);
  const outcomes = startWorker(queues.outcomes.name, (job) => handleOutcomeJob(deps, job), common);
  const internal = startWorker(INTERNAL_QUEUE, internalProcessor(deps), {
    ...common,
    concurrency: settings.jobConcurrency,
  });
  const schedule = async () => {
    await queues.internal.upsertJobScheduler(
      "intake-sweep",
      { every: settings.intakeSweepMs },
      {
        name: "intake.sweep",
        data: { baseDelayMs: settings.intakeSweepMs },
        opts: { removeOnComplete: true, removeOnFail: 100 },
      },
    );
    await queues.internal.upsertJobScheduler(
      "retries-reconcile",
      { every: settings.retryPollMs },
      { name: "retries.reconcile", data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
    await queues.internal.upsertJobScheduler(
      "sla-sweep",
      { every: settings.slaSweepMs },
      { name: "sla.sweep", data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
    await scheduleDigest(queues, settings.digest);
  };
  await schedule();
  // The schedulers live in Redis. One restarted without its data (no append-only file, a
  // failover to an empty replica) would keep the workers running with no SLA sweeper, no
  // intake sweeper and no retry reconcile until the next deploy: every lost timer stays lost.
  // So each reconnect schedules them again; upserting an existing scheduler changes nothing.
  const reschedule = () => {
    schedule().catch((error: unknown) => {
      logger.error({ err: error }, "could not schedule the sweepers again after a reconnect");
    });
  };
  queues.connection.on("ready", reschedule);
  const workers = [failures, outcomes, internal];
  return {
    close: async () => {
      queues.connection.off("ready", reschedule);
      await Promise.all(workers.map((worker) => worker.close()));
    },
  };
}
