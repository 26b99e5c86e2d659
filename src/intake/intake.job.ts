/**
 * Intake's job handlers: the producers' failure queue (one failure event per job) and its own
 * internal jobs. Joined into the worker's table by src/app/jobs.ts.
 */
import type { Job } from "bullmq";
import type { Deps } from "../app/deps.js";
import { exceptionLogger } from "../platform/logger.js";
import { countIntake } from "../platform/metrics.js";
import { createBatcher } from "../platform/queue/batcher.js";
import type { JobHandlers } from "../platform/queue/catalog.js";
import { activeTraceparent, inSpan, producerTraceparent } from "../platform/tracing.js";
import type { IntakeResult } from "./intake.service.js";
import { type BatchOptions, type FailureJob, ingestFailures } from "./intake-batch.js";
import type { intakeJobs } from "./intake-jobs.schema.js";
import { sweepFailedIntake } from "./intake-sweeper.js";
import { queueRejectedCardFor } from "./rejected.js";

/**
 * The failures queue's jobs, taken in together: each job hands its event to a batcher and
 * waits for the batch holding it (src/intake/intake-batch.ts) to commit. Its card (or a
 * rejection's) and its SLA deadline commit with the row through the Slack outbox, so a Slack
 * outage cannot fail the job (a producer's job may allow no retries); the timers are armed by
 * the exception seam after the commit, once per batch. `inTransaction` runs in the batch's
 * transaction (the failed-delivery count); `afterTaken` runs after the commit for the batch's
 * events that were taken but not seen by it (duplicates of events stored before, events taken
 * one at a time); a transient failure of either fails their jobs (retried: intake is idempotent).
 */
export interface FailureIntake {
  take(job: Job): Promise<string>;
}

export function startFailureIntake(
  deps: Deps,
  settings: {
    /** The most events one batch takes: the failures worker's concurrency. */
    maxBatch: number;
    inTransaction?: BatchOptions["inTransaction"];
    afterTaken?: (data: readonly unknown[]) => Promise<void>;
  },
): FailureIntake {
  const batcher = createBatcher<FailureJob, IntakeResult>({
    maxItems: settings.maxBatch,
    // Two: one batch's after-commit work (timers, Home) overlaps the next
    // one's transaction. Both lock rows in the same orders, so they wait, never in a ring.
    maxInFlight: 2,
    run: async (jobs) => {
      const done = new Set<string>();
      const outcomes = await ingestFailures(deps, jobs, {
        ...(settings.inTransaction ? { inTransaction: settings.inTransaction } : {}),
        done,
      });
      const taken = jobs.filter((job, i) => {
        const outcome = outcomes[i];
        const eventId = (job.data as { eventId?: unknown } | null)?.eventId;
        return (
          outcome?.ok &&
          outcome.value.kind !== "rejected" &&
          !(typeof eventId === "string" && done.has(eventId))
        );
      });
      if (taken.length > 0 && settings.afterTaken) {
        try {
          await settings.afterTaken(taken.map((job) => job.data));
        } catch (error) {
          return outcomes.map((outcome) =>
            outcome.ok && outcome.value.kind !== "rejected" ? { ok: false, error } : outcome,
          );
        }
      }
      return outcomes;
    },
  });
  return {
    take(job) {
      const id = job.id ?? `${job.name}-${job.timestamp}`;
      const eventId = (job.data as { eventId?: unknown } | null)?.eventId;
      // The producer's trace (the event's traceparent or traceId) continues here; without one,
      // intake is a child of BullMQ's `process` span of this job.
      return inSpan(
        "intake sync.failed",
        { parent: producerTraceparent(job.data, typeof eventId === "string" ? eventId : id) },
        async (span) => {
          // The batch runs in one context; each event's rows keep this job's trace.
          const result = await batcher.submit({ id, data: job.data, trace: activeTraceparent() });
          countIntake("failures", result.kind);
          span.setAttribute("syncdesk.intake.result", result.kind);
          if (result.kind !== "rejected") {
            span.setAttribute("syncdesk.exception.id", result.exceptionId);
            // A child logger per event costs CPU and garbage even when it writes nothing
            // (production runs at warn): made only when the line is written.
            if (deps.logger.isLevelEnabled("info"))
              exceptionLogger(deps.logger, result.exceptionId, job.data).info(
                { jobId: job.id, result: result.kind },
                "failure event taken in",
              );
          }
          return result.kind;
        },
      );
    },
  };
}

export function intakeJobHandlers(deps: Deps): JobHandlers<typeof intakeJobs> {
  return {
    "intake.sweep": (data) => sweepFailedIntake(deps, data),
    "rejections.post": (data) => queueRejectedCardFor(deps, data.rejectedId),
  };
}
