/** The producers' outcome queue: one successful sync per job (joined by src/app/workers.ts). */
import type { Job } from "bullmq";
import type { Deps } from "../app/deps.js";
import { countIntake } from "../platform/metrics.js";
import { applyOutcome } from "./outcome.service.js";

export async function handleOutcomeJob(deps: Deps, job: Job): Promise<string> {
  const result = await applyOutcome(deps, {
    id: job.id ?? `${job.name}-${job.timestamp}`,
    data: job.data,
  });
  countIntake("outcomes", result.kind);
  return result.kind;
}
