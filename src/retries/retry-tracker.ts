/**
 * Follows the retry jobs syncdesk queued on producers' queues. Polling BullMQ for each job's
 * state (rather than listening for events) also catches jobs that finished while no syncdesk
 * process was running: the answer is in Redis either way.
 */
import { eq } from "drizzle-orm";
import { applySignal } from "../exceptions/exceptions.service.js";
import { exceptions } from "../platform/db/schema.js";
import type { Deps } from "../platform/deps.js";

/** A retry job that vanished (removed by hand, Redis flushed) is reported after this long. */
const MISSING_JOB_GRACE_MS = 10 * 60 * 1000;

export async function reconcileRetries(deps: Deps): Promise<number> {
  const pending = await deps.db
    .select({
      id: exceptions.id,
      queue: exceptions.retryQueue,
      jobId: exceptions.retryJobId,
      updatedAt: exceptions.updatedAt,
    })
    .from(exceptions)
    .where(eq(exceptions.state, "retrying"));
  let applied = 0;
  for (const row of pending) {
    if (!row.queue || !row.jobId) continue;
    const job = await deps.queues.external(row.queue).getJob(row.jobId);
    const signal = job ? await signalFor(job) : missingSignal(deps, row);
    if (!signal) continue;
    const changed = await applySignal(deps, {
      exceptionId: row.id,
      signal,
      source: "retry-tracker",
    });
    if (changed) applied++;
  }
  return applied;
}

async function signalFor(job: { getState(): Promise<string>; failedReason?: string }) {
  const state = await job.getState();
  if (state === "completed") return { kind: "retry_succeeded" as const };
  if (state === "failed")
    return { kind: "retry_failed" as const, error: job.failedReason || "the retry job failed" };
  return null;
}

function missingSignal(
  deps: Deps,
  row: { queue: string | null; jobId: string | null; updatedAt: Date },
) {
  if (deps.clock.now().getTime() - row.updatedAt.getTime() < MISSING_JOB_GRACE_MS) return null;
  return {
    kind: "retry_failed" as const,
    error: `retry job ${row.jobId} is no longer on queue ${row.queue}; its result is unknown`,
  };
}
