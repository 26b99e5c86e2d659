/**
 * The App Home tab: published when a user opens it, and again after any change to an
 * exception of their roles (opened, claimed, released, reassigned, retried, resolved,
 * breached) or one they hold, for as long as they have opened it at least once.
 *
 * A change never waits on Slack: `homesAfterChanges` (an after-commit hook of the exception
 * seam, registered by the composition root) queues a fan-out per role, coalesced over
 * HOME_FANOUT_MS. The
 * fan-out picks the role's people who have opened Home and books each a publish, paced per
 * person (home-pacing.ts): the first at once, then at most one per window, and a publish
 * already booked for later absorbs the change (it renders when it runs). A failed publish is
 * retried by BullMQ from the state as it is then.
 */
import { createHash } from "node:crypto";
import type { Deps } from "../app/deps.js";
import { standingIn } from "../exceptions/authorization.js";
import type { CommittedChange } from "../exceptions/effects.js";
import { DAY_MS } from "./command-args.js";
import { renderHome } from "./home.view.js";
import { homeWindowMs } from "./home-pacing.js";
import {
  allHomeViewers,
  homeViewersHolding,
  isHomeViewer,
  recordHomeOpened,
} from "./home-viewers.repo.js";
import { queueItems, roleFreshness, rolesOf, weekFigures } from "./inventory.service.js";
import { enqueueInventoryJob } from "./inventory-jobs.schema.js";
import { linkerFor } from "./links.js";
import { liveExceptions } from "./live.repo.js";

/** Changes of one role within this long of each other share one fan-out. */
export const HOME_FANOUT_MS = 250;

export async function publishHome(deps: Deps, userId: string): Promise<void> {
  const now = deps.clock.now();
  const roles = await rolesOf(deps, userId);
  const [held, roleRows, figures, link, freshness] = await Promise.all([
    liveExceptions(deps.db, { claimedBy: userId }),
    liveExceptions(deps.db, { roles }),
    roles.length ? weekFigures(deps, roles) : Promise.resolve(null),
    linkerFor(deps),
    roles.length ? roleFreshness(deps, roles, DAY_MS) : Promise.resolve([]),
  ]);
  const view = renderHome(
    {
      userId,
      roles,
      held: queueItems(deps, held, now),
      roleOpen: queueItems(deps, roleRows, now),
      figures,
      freshness,
      now,
    },
    link,
  );
  await deps.slack.views.publish({ user_id: userId, view: view as never });
}

/** `app_home_opened`: remember that this person looks at Home, then draw it. */
export async function openHome(deps: Deps, userId: string): Promise<void> {
  try {
    await recordHomeOpened(deps.db, userId, deps.clock.now());
  } catch (error) {
    // Drawing the tab matters more; the record is made again at the next open.
    deps.logger.warn({ userId, err: error }, "could not record a Home tab viewer");
  }
  await publishHome(deps, userId);
}

/**
 * An exception of `role` changed (committed). Queues the role's fan-out; every change of the
 * role in the same HOME_FANOUT_MS slot is the same job. Throws if Redis refuses, so a caller
 * that retries (the card job) tries again.
 */
export async function homeChanged(
  deps: Pick<Deps, "queues" | "clock">,
  row: { role: string },
): Promise<void> {
  const now = deps.clock.now().getTime();
  const slot = Math.floor(now / HOME_FANOUT_MS);
  await enqueueInventoryJob(
    deps.queues,
    "home.fanout",
    { role: row.role },
    // Job ids may not contain ":" (a role name might): name the role by a hash.
    { jobId: `home-role-${roleKey(row.role)}-${slot}`, delay: (slot + 1) * HOME_FANOUT_MS - now },
  );
}

/**
 * The exception seam's after-commit hook: the roles of committed changes get their Home tabs
 * redrawn. A Redis refusal costs a redraw, not the change.
 */
export async function homesAfterChanges(
  deps: Pick<Deps, "queues" | "clock" | "logger">,
  changes: readonly CommittedChange[],
): Promise<void> {
  const roles = new Set(changes.filter((c) => c.redrawHomes).map((c) => c.row.role));
  for (const role of roles) {
    await homeChanged(deps, { role }).catch((error: unknown) =>
      deps.logger.warn({ role, err: error }, "could not queue a Home tab redraw"),
    );
  }
}

/** The `home.fanout` job: a paced publish for each Home viewer the role's change concerns. */
export async function fanOutHome(deps: Deps, role: string): Promise<number> {
  const [viewers, holders] = await Promise.all([
    allHomeViewers(deps.db),
    homeViewersHolding(deps.db, role),
  ]);
  const standings = await Promise.all(viewers.map((userId) => standingIn(deps, role, userId)));
  const recipients = viewers.filter(
    (userId, i) => holders.has(userId) || standings[i]?.standing !== "outsider",
  );
  const windowMs = homeWindowMs(recipients.length);
  for (const userId of recipients) await bookHomePublish(deps, userId, windowMs);
  return recipients.length;
}

/** The `home.refresh` job: draw the tab now, from the state as it is now. */
export async function refreshHomeJob(deps: Deps, userId: string): Promise<void> {
  // Booked only for viewers; re-checked so a job queued by an older release cannot widen that.
  if (!(await isHomeViewer(deps.db, userId))) return;
  await publishHome(deps, userId);
}

/**
 * nextPublishAt (home-pacing.ts), atomically across replicas. KEYS[1] holds when this
 * person's last publish was booked (epoch ms); -1: one is booked after now already.
 */
const BOOK = `
local last = tonumber(redis.call('GET', KEYS[1]))
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
if last and last > now then return -1 end
local at = now
if last then at = math.max(now, last + window) end
redis.call('SET', KEYS[1], string.format('%d', at), 'PX', string.format('%d', at - now + window))
return at`;

const UNBOOK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`;

async function bookHomePublish(
  deps: Pick<Deps, "queues" | "clock">,
  userId: string,
  windowMs: number,
): Promise<void> {
  const { connection, prefix } = deps.queues;
  const key = `${prefix}:home:next:${userId}`;
  const now = deps.clock.now().getTime();
  const at = Number(await connection.eval(BOOK, 1, key, String(now), String(windowMs)));
  if (at < 0) return;
  try {
    await enqueueInventoryJob(
      deps.queues,
      "home.refresh",
      { userId },
      { jobId: `home-${userId}-${at}`, delay: Math.max(0, at - now) },
    );
  } catch (error) {
    // Not queued: free the booking, or the retried fan-out would think a publish is coming.
    await connection.eval(UNBOOK, 1, key, String(at)).catch(() => undefined);
    throw error;
  }
}

function roleKey(role: string): string {
  return createHash("sha256").update(role).digest("hex").slice(0, 16);
}
