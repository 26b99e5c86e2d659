/**
 * What a catalogued internal job is: a payload schema and a retry policy. The ground floor
 * knows the shape, not the jobs: each feature declares its own in a `*-jobs.schema.ts`, and
 * the composition root (src/app/jobs.ts) joins them into the one table the worker runs.
 * Every internal job goes through an `enqueue` made by `enqueuer()` with a typed payload and
 * is parsed again by the worker, so a payload that does not fit is recorded and failed for
 * good instead of retried blindly.
 */
import type { Job, JobsOptions } from "bullmq";
import type { z } from "zod";

export const INTERNAL_QUEUE = "syncdesk";

export interface JobSpec<S extends z.ZodType = z.ZodType> {
  schema: S;
  options: JobsOptions;
}

export type JobSpecs = Record<string, JobSpec>;

/** The payload type of job `N` of a catalog. */
export type JobDataOf<C extends JobSpecs, N extends keyof C> = z.infer<C[N]["schema"]>;

export const defaultJobOptions: JobsOptions = {
  backoff: { type: "exponential", delay: 1000 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * What every job scheduler's template adds to its options. BullMQ keeps a template's options
 * with the scheduler and gives them to every run, the trace context of the upsert included, so
 * with tracing on each run of a sweeper would join the first run's trace: one trace growing for
 * the life of the schedule. Without it, each run is a trace of its own.
 */
export const SCHEDULED: JobsOptions = { telemetry: { omitContext: true } };

/** The options a job of `spec` is added with: defaults, then the catalog's, then the caller's. */
export function jobOptions(spec: JobSpec, options: JobsOptions = {}): JobsOptions {
  return { ...defaultJobOptions, ...spec.options, ...options };
}

/** What each job of a catalog does: the handlers a feature's `*.job.ts` exports. */
export type JobHandlers<C extends JobSpecs> = {
  [N in keyof C]: (data: JobDataOf<C, N>, job: Job) => Promise<unknown>;
};
