/** The storms feature's internal job handlers, for the composition root's worker. */
import type { Deps } from "../platform/deps.js";
import type { JobData } from "../platform/queue/catalog.js";
import { updateStormCard } from "./storm-cards.js";
import {
  claimStormMembers,
  endStormIfQuiet,
  resolveStormMembers,
  retryStormMember,
} from "./storm-members.job.js";

export type StormJobName =
  | "storms.card"
  | "storms.end-check"
  | "storms.claim-members"
  | "storms.retry-member"
  | "storms.resolve-members";

export function stormJobHandlers(deps: Deps): {
  [N in StormJobName]: (data: JobData<N>) => Promise<unknown>;
} {
  return {
    "storms.card": (data) => updateStormCard(deps, data.stormId),
    "storms.end-check": (data) => endStormIfQuiet(deps, data),
    "storms.claim-members": (data) => claimStormMembers(deps, data),
    "storms.retry-member": (data) => retryStormMember(deps, data),
    "storms.resolve-members": (data) => resolveStormMembers(deps, data),
  };
}
