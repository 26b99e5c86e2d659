/** The SLA feature's job handlers (joined into the worker's table by src/app/jobs.ts). */
import type { Deps } from "../app/deps.js";
import type { JobHandlers } from "../platform/queue/catalog.js";
import type { slaJobs } from "./sla-jobs.schema.js";
import { fireSlaStep } from "./sla-step.job.js";
import { sweepSla } from "./sla-timers.js";

export function slaJobHandlers(deps: Deps): JobHandlers<typeof slaJobs> {
  return {
    "sla.step": (data) => fireSlaStep(deps, data),
    "sla.sweep": () => sweepSla(deps),
  };
}
