/**
 * How often one person's Home tab may be republished after changes: pure. A burst of changes
 * publishes at once for the first, then at most once per window per person, and the last
 * publish of the burst draws the state after its last change (a publish renders when it runs).
 */

/** Base spacing of one person's change-driven publishes (as CARD_UPDATE_WINDOW_MS for cards). */
export const HOME_REFRESH_WINDOW_MS = 2000;

/**
 * views.publish is Tier 4 (100+ a minute per workspace). Change-driven publishes are paced to
 * stay under this, leaving room for tabs being opened.
 */
export const HOME_PUBLISHES_PER_MINUTE = 80;

/** The window for a change seen by `recipients` people: wider when many watch, to fit the budget. */
export function homeWindowMs(
  recipients: number,
  baseMs = HOME_REFRESH_WINDOW_MS,
  perMinute = HOME_PUBLISHES_PER_MINUTE,
): number {
  return Math.max(baseMs, Math.ceil((recipients * 60_000) / perMinute));
}

/**
 * When the next publish for one person goes (epoch ms), given when the last one was scheduled:
 * now if that was a window ago or more, else a window after it. Null when one is scheduled
 * after now already: it has not rendered yet, so it will show this change too.
 * (home.service.ts runs the same rule atomically in Redis; keep the two alike.)
 */
export function nextPublishAt(lastAt: number | null, now: number, windowMs: number): number | null {
  if (lastAt !== null && lastAt > now) return null;
  return lastAt === null ? now : Math.max(now, lastAt + windowMs);
}
