/** The storms feature's internal job handlers, for the composition root's worker. */
import type { Deps } from "../platform/deps.js";
import type { JobData } from "../platform/queue/catalog.js";
import { runStormCardJob } from "./storm-cards.js";
import {
  claimStormMembers,
  endStormIfQuiet,
  resolveStormMembers,
  retryStormMember,
} from "./storm-members.job.js";
import { queueStormRetries } from "./storm-retries.job.js";

export type StormJobName =
  | "storms.card"
  | "storms.end-check"
  | "storms.claim-members"
  | "storms.retry-all"
  | "storms.retry-member"
  | "storms.resolve-members";

export function stormJobHandlers(deps: Deps): {
  [N in StormJobName]: (data: JobData<N>) => Promise<unknown>;
} {
  return {
    "storms.card": (data) => runStormCardJob(deps, data),
    "storms.end-check": (data) => endStormIfQuiet(deps, data),
    "storms.claim-members": (data) => claimStormMembers(deps, data),
    "storms.retry-all": (data) => queueStormRetries(deps, data),
    "storms.retry-member": (data) => retryStormMember(deps, data),
    "storms.resolve-members": (data) => resolveStormMembers(deps, data),
  };
}
