/**
 * The App Home tab: published when a user opens it, and again shortly after any change to an
 * exception they hold, held, or acted on. Changes only enqueue a refresh (debounced per user),
 * so a click never waits on `views.publish` and a burst of changes publishes once.
 */
import type { Deps } from "../platform/deps.js";
import { enqueue } from "../platform/queue/queues.js";
import { renderHome } from "./home.view.js";
import { queueItems, rolesOf, weekFigures } from "./inventory.service.js";
import { linkerFor } from "./links.js";
import { liveExceptions } from "./live.repo.js";

/** Changes within this long of each other publish one Home view. */
export const HOME_REFRESH_DEBOUNCE_MS = 500;
const USER_ID = /^[UW][A-Z0-9]{2,}$/;

export async function publishHome(deps: Deps, userId: string): Promise<void> {
  const now = deps.clock.now();
  const roles = await rolesOf(deps, userId);
  const [held, roleRows, figures, link] = await Promise.all([
    liveExceptions(deps.db, { claimedBy: userId }),
    liveExceptions(deps.db, { roles }),
    roles.length ? weekFigures(deps, roles) : Promise.resolve(null),
    linkerFor(deps),
  ]);
  const view = renderHome(
    {
      userId,
      roles,
      held: queueItems(deps, held, now),
      roleOpen: queueItems(deps, roleRows, now),
      figures,
      now,
    },
    link,
  );
  await deps.slack.views.publish({ user_id: userId, view: view as never });
}

/**
 * Asks for the Home tabs of these users to be republished. Called after a change is committed;
 * never throws (the change stands whatever happens to the Home tab).
 */
export async function refreshHome(
  deps: Pick<Deps, "queues" | "logger">,
  userIds: readonly (string | null | undefined)[],
): Promise<void> {
  const users = [...new Set(userIds)].filter((id): id is string => !!id && USER_ID.test(id));
  for (const userId of users) {
    try {
      await enqueue(
        deps.queues,
        "home.refresh",
        { userId },
        {
          delay: HOME_REFRESH_DEBOUNCE_MS,
          deduplication: { id: `home-${userId}`, ttl: HOME_REFRESH_DEBOUNCE_MS },
        },
      );
    } catch (error) {
      deps.logger.warn({ userId, err: error }, "could not queue a Home tab refresh");
    }
  }
}
