/** Builds the storm desk hung on `deps.storms` (its shape: `StormDesk` in storm-policy.ts). */
import type { PlatformDeps } from "../platform/deps.js";
import { queueStormCard } from "./storm-cards.js";
import { enqueueStormJob } from "./storm-jobs.schema.js";
import type { StormDesk, StormSettings } from "./storm-policy.js";

export function createStormDesk(
  deps: Pick<PlatformDeps, "queues" | "clock">,
  settings: StormSettings,
): StormDesk {
  return {
    settings,
    scheduleEndCheck: (stormId, dueAt) => scheduleEndCheck(deps, stormId, dueAt),
    memberChanged: (db, stormId) => queueStormCard(db, stormId),
  };
}

/**
 * The job id names the moment it is due, so a repeat of the same step adds nothing; `-<n>`
 * tells apart a check that ran early and asks again for the same moment.
 */
export async function scheduleEndCheck(
  deps: Pick<PlatformDeps, "queues" | "clock">,
  stormId: number,
  dueAt: Date,
  attempt = 0,
): Promise<void> {
  const delay = Math.max(0, dueAt.getTime() - deps.clock.now().getTime());
  await enqueueStormJob(
    deps.queues,
    "storms.end-check",
    { stormId, dueAt: dueAt.getTime() },
    {
      jobId: `storm-${stormId}-end-${dueAt.getTime()}${attempt ? `-${attempt}` : ""}`,
      delay,
    },
  );
}
