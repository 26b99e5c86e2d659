/**
 * The window figures of every client and role over the long windows, computed ahead of the
 * asking. A 30-day window of a million-exception history sums some 80,000 exceptions over
 * 70,000 SKUs (bench:status: 150-200 ms of Postgres per answer on 2 cores), and the plain
 * `/inventory status` (7 days) and `/inventory status 30d` ask for exactly these. So the worker
 * recomputes them every minute (`status.figures`, one job across replicas) and an answer reads
 * the last result when it is at most five minutes old and its window held at least
 * SNAPSHOT_MIN_OPENED exceptions, saying "as of" when it does: there a minute's news moves the
 * figures little, while a small window's would show stale (a fresh desk's first cards missing)
 * and costs a few ms to compute. Anything else (a client, a role, a vertical, another window,
 * a small, old or missing snapshot) is computed at the asking, as before. "Open now" is always
 * live.
 */
import { and, eq, gt, sql } from "drizzle-orm";
import type { Db } from "../platform/db/db.js";
import { windowFigureSnapshots } from "../platform/db/schema.js";
import { SCHEDULED } from "../platform/queue/catalog.js";
import type { Queues } from "../platform/queue/queues.js";
import type { WindowFigures } from "./figures.js";
import { windowFigures } from "./status.repo.js";

const DAY_MS = 86_400_000;
/** The windows computed ahead: the default one and the longest one people ask for. */
export const SNAPSHOT_WINDOWS_MS = [7 * DAY_MS, 30 * DAY_MS] as const;
/** How often the worker recomputes them. */
export const SNAPSHOT_EVERY_MS = 60_000;
/** A snapshot older than this is not used (the worker is down or behind): computed instead. */
export const SNAPSHOT_MAX_AGE_MS = 5 * 60_000;
/** Windows with fewer exceptions than this are computed at the asking (a few ms). */
export const SNAPSHOT_MIN_OPENED = 10_000;
const SCHEDULER_ID = "status-figures";

export interface Snapshot {
  figures: WindowFigures;
  /** The figures cover (asOf − window, asOf]. */
  asOf: Date;
}

/** Computes and stores the figures of every snapshot window, days counted in `timeZone`. */
export async function refreshFigureSnapshots(db: Db, now: Date, timeZone: string): Promise<void> {
  for (const windowMs of SNAPSHOT_WINDOWS_MS) {
    const figures = await windowFigures(db, {}, { now, ms: windowMs, timeZone });
    await db
      .insert(windowFigureSnapshots)
      .values({ windowMs, timeZone, computedAt: now, figures })
      .onConflictDoUpdate({
        target: [windowFigureSnapshots.windowMs, windowFigureSnapshots.timeZone],
        set: { computedAt: now, figures },
        // A slow run that ends after a newer one keeps the newer figures.
        setWhere: sql`${windowFigureSnapshots.computedAt} < excluded.computed_at`,
      });
  }
}

/** The stored figures of this window and zone, if they are recent enough and worth it. */
export async function recentSnapshot(
  db: Db,
  window: { ms: number; timeZone: string; now: Date },
): Promise<Snapshot | null> {
  if (!(SNAPSHOT_WINDOWS_MS as readonly number[]).includes(window.ms)) return null;
  const [row] = await db
    .select({
      computedAt: windowFigureSnapshots.computedAt,
      figures: windowFigureSnapshots.figures,
    })
    .from(windowFigureSnapshots)
    .where(
      and(
        eq(windowFigureSnapshots.windowMs, window.ms),
        eq(windowFigureSnapshots.timeZone, window.timeZone),
        gt(windowFigureSnapshots.computedAt, new Date(window.now.getTime() - SNAPSHOT_MAX_AGE_MS)),
      ),
    );
  // Not from the future either (a clock that went back, a test's clock).
  if (!row || row.computedAt > window.now) return null;
  const figures = row.figures as WindowFigures;
  return figures.opened < SNAPSHOT_MIN_OPENED ? null : { figures, asOf: row.computedAt };
}

export async function scheduleFigureSnapshots(queues: Pick<Queues, "internal">): Promise<void> {
  await queues.internal.upsertJobScheduler(
    SCHEDULER_ID,
    { every: SNAPSHOT_EVERY_MS },
    {
      name: "status.figures",
      data: {},
      opts: { ...SCHEDULED, removeOnComplete: true, removeOnFail: 100 },
    },
  );
}
