/**
 * The worker's table of internal jobs, joined from each feature's catalog (`*-jobs.schema.ts`:
 * payload schema and retry policy) and handlers (`*.job.ts`). The type checks that every
 * catalogued job has a handler and every handler a catalogued payload.
 */
import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import { cardJobs } from "../exceptions/card-jobs.schema.js";
import { cardJobHandlers } from "../exceptions/cards.job.js";
import { gateJobs } from "../gates/gate-jobs.schema.js";
import { gateJobHandlers } from "../gates/gates.job.js";
import type { GateSettings } from "../gates/gates.service.js";
import { intakeJobHandlers } from "../intake/intake.job.js";
import { intakeJobs } from "../intake/intake-jobs.schema.js";
import { inventoryJobHandlers } from "../inventory/inventory.job.js";
import { inventoryJobs } from "../inventory/inventory-jobs.schema.js";
import type { JobHandlers } from "../platform/queue/catalog.js";
import { retentionJobHandlers } from "../retention/retention.job.js";
import { retentionJobs } from "../retention/retention-jobs.schema.js";
import type { RetentionRule } from "../retention/retention-rules.js";
import { retryJobHandlers } from "../retries/retries.job.js";
import { retryJobs } from "../retries/retry-jobs.schema.js";
import { slaJobHandlers } from "../sla/sla.job.js";
import { slaJobs } from "../sla/sla-jobs.schema.js";
import { stormJobs } from "../storms/storm-jobs.schema.js";
import { stormJobHandlers } from "../storms/storms.job.js";
import type { Deps } from "./deps.js";

export const jobCatalog = {
  ...retryJobs,
  ...intakeJobs,
  ...cardJobs,
  ...slaJobs,
  ...stormJobs,
  ...inventoryJobs,
  ...retentionJobs,
  ...gateJobs,
};

export type JobName = keyof typeof jobCatalog;

/** What the job table needs besides Deps: settings only the composition root reads. */
export interface JobSettings {
  retentionRules: RetentionRule[];
  gates: GateSettings;
}

function jobHandlers(deps: Deps, settings: JobSettings): JobHandlers<typeof jobCatalog> {
  return {
    ...retryJobHandlers(deps),
    ...intakeJobHandlers(deps),
    ...cardJobHandlers(deps),
    ...slaJobHandlers(deps),
    ...stormJobHandlers(deps),
    ...inventoryJobHandlers(deps),
    ...retentionJobHandlers(deps, settings.retentionRules),
    ...gateJobHandlers(deps, settings.gates),
  };
}

/**
 * The internal queue's processor: a job whose name is not catalogued, or whose payload does
 * not fit its schema, fails for good (recorded by BullMQ) instead of being retried blindly.
 */
export function internalProcessor(
  deps: Deps,
  settings: JobSettings,
): (job: Job) => Promise<unknown> {
  const handlers = jobHandlers(deps, settings);
  return async (job) => {
    const name = job.name as JobName;
    const entry = jobCatalog[name];
    if (!entry) throw new UnrecoverableError(`unknown job ${job.name}`);
    const parsed = entry.schema.safeParse(job.data);
    if (!parsed.success)
      throw new UnrecoverableError(`bad payload for ${job.name}: ${parsed.error.message}`);
    const handle = handlers[name] as (data: unknown, job: Job) => Promise<unknown>;
    return handle(parsed.data, job);
  };
}
