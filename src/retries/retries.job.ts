/** The retries feature's job handler (joined into the worker's table by src/app/jobs.ts). */
import type { Deps } from "../app/deps.js";
import type { JobHandlers } from "../platform/queue/catalog.js";
import type { retryJobs } from "./retry-jobs.schema.js";
import { reconcileRetries } from "./retry-tracker.js";

export function retryJobHandlers(deps: Deps): JobHandlers<typeof retryJobs> {
  return { "retries.reconcile": () => reconcileRetries(deps) };
}
