/**
 * What the rest of syncdesk sees of storms, hung on `deps.storms`: the settings intake needs to
 * group new fingerprints, the hook that schedules a storm's end from inside the forming
 * transaction, and the hook a member's change calls, in its transaction, for the storm card.
 */
import type { Queryable } from "../platform/db/db.js";
import type { Deps } from "../platform/deps.js";
import { enqueue } from "../platform/queue/queues.js";
import { queueStormCard } from "./storm-cards.js";
import type { StormSettings } from "./storm-policy.js";

export interface StormDesk {
  settings: StormSettings;
  /** Schedules the quiet-window check. Called inside the transaction that formed the storm. */
  scheduleEndCheck(stormId: number, dueAt: Date): Promise<void>;
  /**
   * A member changed: post the storm card if it has none yet, else redraw it (coalesced).
   * Pass the change's transaction: the card's outbox row commits with it.
   */
  memberChanged(db: Queryable, stormId: number): Promise<void>;
}

export function createStormDesk(deps: Deps, settings: StormSettings): StormDesk {
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
  deps: Pick<Deps, "queues" | "clock">,
  stormId: number,
  dueAt: Date,
  attempt = 0,
): Promise<void> {
  const delay = Math.max(0, dueAt.getTime() - deps.clock.now().getTime());
  await enqueue(
    deps.queues,
    "storms.end-check",
    { stormId, dueAt: dueAt.getTime() },
    {
      jobId: `storm-${stormId}-end-${dueAt.getTime()}${attempt ? `-${attempt}` : ""}`,
      delay,
    },
  );
}
