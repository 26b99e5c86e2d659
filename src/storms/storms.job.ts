/** The storms feature's internal job handlers, for the composition root's worker. */
import type { Deps } from "../app/deps.js";
import type { JobHandlers } from "../platform/queue/catalog.js";
import { runStormCardJob } from "./storm-cards.js";
import type { stormJobs } from "./storm-jobs.schema.js";
import {
  claimStormMembers,
  endStormIfQuiet,
  resolveStormMembers,
  retryStormMember,
} from "./storm-members.job.js";
import { queueStormRetries } from "./storm-retries.job.js";

export function stormJobHandlers(deps: Deps): JobHandlers<typeof stormJobs> {
  return {
    "storms.card": (data) => runStormCardJob(deps, data),
    "storms.end-check": (data) => endStormIfQuiet(deps, data),
    "storms.claim-members": (data) => claimStormMembers(deps, data),
    "storms.retry-all": (data) => queueStormRetries(deps, data),
    "storms.retry-member": (data) => retryStormMember(deps, data),
    "storms.resolve-members": (data) => resolveStormMembers(deps, data),
  };
}
