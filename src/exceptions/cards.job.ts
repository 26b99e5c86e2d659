/** The exceptions feature's job handler (joined into the worker's table by src/app/jobs.ts). */
import type { Deps } from "../app/deps.js";
import type { JobHandlers } from "../platform/queue/catalog.js";
import type { cardJobs } from "./card-jobs.schema.js";
import { queueCardFor } from "./cards.js";

export function cardJobHandlers(deps: Deps): JobHandlers<typeof cardJobs> {
  return {
    // Cards go through the Slack outbox now: a job of an earlier release only hands over.
    "cards.sync": (data) => queueCardFor(deps.db, data.exceptionId),
  };
}
