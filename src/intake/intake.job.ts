/**
 * Intake's job handlers: the producers' failure queue (one failure event per job) and its own
 * internal jobs. Joined into the worker's table by src/app/jobs.ts.
 */
import type { Job } from "bullmq";
import type { Deps } from "../app/deps.js";
import { exceptionLogger } from "../platform/logger.js";
import { countIntake } from "../platform/metrics.js";
import type { JobHandlers } from "../platform/queue/catalog.js";
import { inSpan, producerTraceparent } from "../platform/tracing.js";
import { ingestFailure } from "./intake.service.js";
import type { intakeJobs } from "./intake-jobs.schema.js";
import { sweepFailedIntake } from "./intake-sweeper.js";
import { queueRejectedCardFor } from "./rejected.js";

/**
 * One job of the failures queue. Its card (or a rejection's) and its SLA deadline commit with
 * the row through the Slack outbox, so a Slack outage cannot fail the job (a producer's job
 * may allow no retries); the timer is armed by the exception seam after the commit.
 */
export async function handleFailureJob(deps: Deps, job: Job): Promise<string> {
  const id = job.id ?? `${job.name}-${job.timestamp}`;
  const eventId = (job.data as { eventId?: unknown } | null)?.eventId;
  // The producer's trace (the event's traceparent or traceId) continues here; without one,
  // intake is a child of BullMQ's `process` span of this job.
  return inSpan(
    "intake sync.failed",
    { parent: producerTraceparent(job.data, typeof eventId === "string" ? eventId : id) },
    async (span) => {
      const result = await ingestFailure(deps, { id, data: job.data });
      countIntake("failures", result.kind);
      span.setAttribute("syncdesk.intake.result", result.kind);
      if (result.kind !== "rejected") {
        span.setAttribute("syncdesk.exception.id", result.exceptionId);
        exceptionLogger(deps.logger, result.exceptionId, job.data).info(
          { jobId: job.id, result: result.kind },
          "failure event taken in",
        );
      }
      return result.kind;
    },
  );
}

export function intakeJobHandlers(deps: Deps): JobHandlers<typeof intakeJobs> {
  return {
    "intake.sweep": (data) => sweepFailedIntake(deps, data),
    "rejections.post": (data) => queueRejectedCardFor(deps, data.rejectedId),
  };
}
