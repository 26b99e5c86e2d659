/**
 * Follows the retry jobs syncdesk queued on producers' queues. Polling BullMQ for each job's
 * state (rather than listening for events) also catches jobs that finished while no syncdesk
 * process was running: the answer is in Redis either way.
 */
import { and, desc, eq } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { applySignal } from "../exceptions/exceptions.service.js";
import { auditLog, exceptions } from "../platform/db/schema.js";

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
    // One row that cannot be read (a queue BullMQ refuses, a lost connection) must not
    // stop every other retry from being followed.
    try {
      const job = await deps.queues.external(row.queue).getJob(row.jobId);
      const signal = job ? await signalFor(job) : await missingSignal(deps, row);
      if (!signal) continue;
      const changed = await applySignal(deps, {
        exceptionId: row.id,
        signal,
        source: "retry-tracker",
      });
      if (changed) applied++;
    } catch (error) {
      deps.logger.error({ exceptionId: row.id, err: error }, "could not follow a retry job");
    }
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

async function missingSignal(
  deps: Deps,
  row: { id: number; queue: string | null; jobId: string | null; updatedAt: Date },
) {
  // Counted from when the retry was asked for: updatedAt moves with every new occurrence, so
  // a failure that keeps repeating would keep a vanished job "in grace" for ever.
  const [requested] = await deps.db
    .select({ at: auditLog.at })
    .from(auditLog)
    .where(and(eq(auditLog.exceptionId, row.id), eq(auditLog.action, "retry")))
    .orderBy(desc(auditLog.id))
    .limit(1);
  const since = requested?.at ?? row.updatedAt;
  if (deps.clock.now().getTime() - since.getTime() < MISSING_JOB_GRACE_MS) return null;
  return {
    kind: "retry_failed" as const,
    error: `retry job ${row.jobId} is no longer on queue ${row.queue}; its result is unknown`,
  };
}
