/** A BullMQ worker with syncdesk's logging and a bounded shutdown. */
import { type Job, type Processor, type Telemetry, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { metrics } from "../metrics.js";
import { retryTransient } from "../transient.js";

/** Jobs are short (a few queries, a Slack call); two minutes means something hangs. */
const DEFAULT_JOB_TIMEOUT_MS = 120_000;

export interface WorkerHandle {
  name: string;
  worker: Worker;
  close(timeoutMs?: number): Promise<void>;
}

export function startWorker(
  name: string,
  processor: Processor,
  options: {
    connection: Redis;
    prefix: string;
    logger: Logger;
    concurrency?: number;
    /**
     * How long a job stays locked without a renewal (BullMQ: 30 s): about the time it takes
     * to re-run the jobs of a worker that died (see stalledIntervalFor).
     */
    lockMs?: number;
    /** A job still running after this long is failed (a query on a broken connection can hang). */
    jobTimeoutMs?: number;
    /** BullMQ's OpenTelemetry hooks: each job runs in a `process` span continuing its adder's trace. */
    telemetry?: Telemetry;
  },
): WorkerHandle {
  const logger = options.logger.child({ queue: name });
  const connection = options.connection.duplicate();
  let stopping = false;
  // A Postgres restart or a dropped connection must not fail a job whose producer allowed
  // one attempt: transient errors are retried here (every job is at-least-once anyway).
  const run = (job: Job) =>
    withDeadline(
      retryTransient(() => processor(job), {
        logger,
        stopping: () => stopping,
        context: { jobId: job.id, job: job.name },
      }),
      options.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS,
    );
  const worker = new Worker(
    name,
    async (job: Job) => {
      const started = Date.now();
      // Due since it was added, or since its delay ran out.
      const dueAt = job.timestamp + (job.opts.delay ?? 0);
      metrics.jobWait.observe({ queue: name, job: job.name }, Math.max(0, started - dueAt) / 1000);
      const seconds = () => (Date.now() - started) / 1000;
      try {
        const result = await run(job);
        metrics.jobDuration.observe(
          { queue: name, job: job.name, outcome: "completed" },
          seconds(),
        );
        logger.debug({ jobId: job.id, job: job.name, ms: Date.now() - started }, "job done");
        return result;
      } catch (error) {
        metrics.jobDuration.observe({ queue: name, job: job.name, outcome: "failed" }, seconds());
        logger.error(
          { jobId: job.id, job: job.name, attempt: job.attemptsMade + 1, err: error },
          "job failed",
        );
        throw error;
      }
    },
    {
      connection,
      prefix: options.prefix,
      concurrency: options.concurrency ?? 4,
      autorun: true,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
      ...(options.lockMs
        ? { lockDuration: options.lockMs, stalledInterval: stalledIntervalFor(options.lockMs) }
        : {}),
    },
  );
  worker.on("error", (error) => logger.error({ err: error }, "worker error"));
  return {
    name,
    worker,
    // worker.close() waits for active jobs without limit; a deploy must not hang on one.
    close: async (timeoutMs = 7000) => {
      stopping = true;
      const closing = worker.close();
      const timer = new Promise<"timeout">((resolve) =>
        setTimeout(resolve, timeoutMs, "timeout").unref(),
      );
      if ((await Promise.race([closing, timer])) === "timeout") {
        logger.warn({ timeoutMs }, "active jobs did not finish in time; forcing close");
        await worker.close(true);
      }
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

/**
 * How often stalled jobs are looked for, given the job lock. BullMQ moves a job back to wait at
 * the first check that finds it unlocked, but only if an earlier check (one interval before)
 * saw it active; and the checks of all workers share one timer, so a worker started after a
 * crash can skip its first check. A dead worker's jobs so run again up to lock + 2 intervals
 * after it died: with the interval equal to the lock (BullMQ's default) up to three locks,
 * 12 s for a 4 s lock. A quarter of the lock makes that one and a half. The check is one
 * Lua script over the active list per queue; healthy jobs renew their lock every half lock,
 * so checking more often never stalls one.
 */
export function stalledIntervalFor(lockMs: number): number {
  return Math.max(250, Math.round(lockMs / 4));
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`job did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
