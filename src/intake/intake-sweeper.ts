/**
 * The last line of "no event is lost": producers add intake jobs with one attempt, and intake
 * turns every bad payload into a rejected-event row, so an intake job that failed anyway failed
 * for a reason outside the event (Postgres down for longer than the in-process retries, a job
 * stalled twice by crashing workers). The sweeper re-queues such jobs with growing delays, so
 * they run again once the cause is gone; intake is idempotent, so a re-run is harmless.
 *
 * While Postgres does not answer, nothing is re-queued: every run would fail again and only
 * grow the job's delay, so after an outage of an hour the events would wait another hour.
 * The delays grow only for failures while the database is up (a job that keeps failing).
 */
import type { Job, Queue } from "bullmq";
import { sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";

/** Re-runs before a job is left failed for a person to look at (about a day at the default). */
export const MAX_SWEEP_ATTEMPTS = 30;
const MAX_DELAY_MS = 60 * 60_000;
const BATCH = 500;

/** How long a job that failed `attemptsMade` times waits before its next run. */
export function sweepDelayMs(attemptsMade: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attemptsMade - 1), MAX_DELAY_MS);
}

export interface SweepResult {
  requeued: number;
  waiting: number;
  givenUp: number;
}

export async function sweepFailedIntake(
  deps: Pick<Deps, "db" | "queues" | "logger" | "clock">,
  options: { baseDelayMs: number },
): Promise<SweepResult> {
  const total: SweepResult = { requeued: 0, waiting: 0, givenUp: 0 };
  const queues = [deps.queues.failures, deps.queues.outcomes];
  try {
    await deps.db.execute(sql`select 1`);
  } catch (error) {
    for (const queue of queues) total.waiting += await queue.getFailedCount();
    if (total.waiting > 0)
      deps.logger.warn(
        { waiting: total.waiting, err: error },
        "Postgres does not answer; failed intake jobs wait for it",
      );
    return total;
  }
  for (const queue of queues) {
    const result = await sweepQueue(deps, queue, options.baseDelayMs);
    total.requeued += result.requeued;
    total.waiting += result.waiting;
    total.givenUp += result.givenUp;
  }
  if (total.requeued > 0) deps.logger.warn(total, "failed intake jobs queued again");
  if (total.givenUp > 0)
    deps.logger.error(
      { givenUp: total.givenUp, maxAttempts: MAX_SWEEP_ATTEMPTS },
      "intake jobs still failing after every retry; they stay in the failed set",
    );
  return total;
}

async function sweepQueue(
  deps: Pick<Deps, "logger" | "clock">,
  queue: Queue,
  baseDelayMs: number,
): Promise<SweepResult> {
  const result: SweepResult = { requeued: 0, waiting: 0, givenUp: 0 };
  const now = deps.clock.now().getTime();
  const failed: Job[] = await queue.getFailed(0, BATCH - 1);
  for (const job of failed) {
    if (job.attemptsMade >= MAX_SWEEP_ATTEMPTS) {
      result.givenUp += 1;
      continue;
    }
    const failedAt = job.finishedOn ?? job.processedOn ?? job.timestamp;
    if (now - failedAt < sweepDelayMs(job.attemptsMade, baseDelayMs)) {
      result.waiting += 1;
      continue;
    }
    try {
      await job.retry("failed");
      result.requeued += 1;
      deps.logger.info(
        {
          queue: queue.name,
          jobId: job.id,
          attemptsMade: job.attemptsMade,
          reason: job.failedReason,
        },
        "re-queued a failed intake job",
      );
    } catch {
      // Another replica's sweep (or a person) moved it first.
    }
  }
  return result;
}
