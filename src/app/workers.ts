/**
 * The worker role: the producers' failure and outcome queues, the internal queue (the job
 * table of src/app/jobs.ts) and the job schedulers (sweepers, reconcile, digest, retention).
 */
import { startDeliveryDesk } from "../deliveries/deliveries.job.js";
import { scheduleGateSweep } from "../gates/gates.job.js";
import { type GateSettings, gatesAfterFlush } from "../gates/gates.service.js";
import { startFailureIntake } from "../intake/intake.job.js";
import { scheduleDigest } from "../inventory/digest.job.js";
import { scheduleFigureSnapshots } from "../inventory/figure-snapshots.js";
import { countIntake } from "../platform/metrics.js";
import { INTERNAL_QUEUE, SCHEDULED } from "../platform/queue/catalog.js";
import { startWorker } from "../platform/queue/worker.js";
import { scheduleRecon } from "../recon/recon.job.js";
import { handleSnapshotJob } from "../recon/snapshots.job.js";
import { scheduleRetention } from "../retention/retention.schedule.js";
import type { RetentionRule } from "../retention/retention-rules.js";
import type { Deps } from "./deps.js";
import { internalProcessor } from "./jobs.js";

export interface WorkerSettings {
  retryPollMs: number;
  lockMs: number;
  intakeSweepMs: number;
  slaSweepMs: number;
  /** Internal jobs (SLA timers, cards, storms, Home) one worker process runs at once. */
  jobConcurrency: number;
  /** Failure jobs one worker process holds at once, taken in as batches of up to this many. */
  intakeConcurrency: number;
  digest: { cron: string; tz: string };
  retention: { rules: RetentionRule[]; sweepMs: number };
  /**
   * Delivery figures (src/deliveries): flush interval, outcome jobs held at once, the most
   * records the write-ahead log holds before staging waits.
   */
  deliveries: { flushMs: number; concurrency: number; maxBacklog?: number; stageMs?: number };
  /** Latency gates (src/gates): how often the sweep runs, the over-budget gate's minimum. */
  gates: GateSettings & { sweepMs: number };
  /** Reconciliation (src/recon): snapshot parts loaded at once, the nightly run, the window. */
  recon: { concurrency: number; cron: string; tz: string; windowMs: number };
}

export async function startWorkers(
  deps: Deps,
  settings: WorkerSettings,
): Promise<{ close(): Promise<void>; assertRunning(): void }> {
  const { queues, logger } = deps;
  const common = {
    connection: queues.connection,
    prefix: queues.prefix,
    logger,
    lockMs: settings.lockMs,
    ...(queues.telemetry ? { telemetry: queues.telemetry } : {}),
  };
  const deliveries = startDeliveryDesk(deps, {
    flushMs: settings.deliveries.flushMs,
    ...(settings.deliveries.maxBacklog ? { maxBacklog: settings.deliveries.maxBacklog } : {}),
    ...(settings.deliveries.stageMs ? { stageMs: settings.deliveries.stageMs } : {}),
    // The gates follow each committed flush: late timers armed, late and stale cards cleared.
    afterFlush: (records, gated) => gatesAfterFlush(deps, records, gated),
  });
  const intake = startFailureIntake(deps, {
    maxBatch: settings.intakeConcurrency,
    // A failed delivery of its pipeline (a repeat job counts once), in the batch's transaction;
    // after it, for the events that batch did not write (duplicates, one at a time).
    inTransaction: (tx, events) => deliveries.failuresSeenIn(tx, events),
    afterTaken: (data) => deliveries.failuresSeen(data),
  });
  // Jobs held at once are the batches' size: a batch commits while the next one gathers.
  const failures = startWorker(queues.failures.name, (job) => intake.take(job), {
    ...common,
    concurrency: settings.intakeConcurrency,
  });
  const outcomes = startWorker(
    queues.outcomes.name,
    async (job) => {
      const result = await deliveries.handleOutcomeJob({
        id: job.id ?? `${job.name}-${job.timestamp}`,
        data: job.data,
      });
      countIntake("outcomes", result);
      return result;
    },
    // Each job waits for its records to be staged in the delivery WAL (milliseconds).
    { ...common, concurrency: settings.deliveries.concurrency },
  );
  const snapshots = startWorker(
    queues.snapshots.name,
    async (job) => {
      const result = await handleSnapshotJob(deps, {
        id: job.id ?? `${job.name}-${job.timestamp}`,
        data: job.data,
      });
      countIntake("snapshots", result);
      return result;
    },
    { ...common, concurrency: settings.recon.concurrency },
  );
  const processor = internalProcessor(deps, {
    retentionRules: settings.retention.rules,
    gates: { minDeliveries: settings.gates.minDeliveries },
  });
  const internal = startWorker(INTERNAL_QUEUE, processor, {
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
        opts: { ...SCHEDULED, removeOnComplete: true, removeOnFail: 100 },
      },
    );
    await queues.internal.upsertJobScheduler(
      "retries-reconcile",
      { every: settings.retryPollMs },
      {
        name: "retries.reconcile",
        data: {},
        opts: { ...SCHEDULED, removeOnComplete: true, removeOnFail: 100 },
      },
    );
    await queues.internal.upsertJobScheduler(
      "sla-sweep",
      { every: settings.slaSweepMs },
      {
        name: "sla.sweep",
        data: {},
        opts: { ...SCHEDULED, removeOnComplete: true, removeOnFail: 100 },
      },
    );
    await scheduleDigest(queues, settings.digest);
    await scheduleFigureSnapshots(queues);
    await scheduleRetention(queues, settings.retention.sweepMs);
    await scheduleGateSweep(deps, settings.gates.sweepMs);
    await scheduleRecon(queues, settings.recon);
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
  const workers = [failures, outcomes, snapshots, internal];
  return {
    /** For /readyz: throws naming the workers that stopped. */
    assertRunning: () => {
      const stopped = workers.filter((handle) => !handle.worker.isRunning());
      if (stopped.length) throw new Error(`not running: ${stopped.map((h) => h.name).join(", ")}`);
    },
    close: async () => {
      queues.connection.off("ready", reschedule);
      await Promise.all(workers.map((worker) => worker.close()));
      await deliveries.close();
    },
  };
}
