/**
 * The operating figures of a window, as plain data, and the pure arithmetic on them: rates,
 * shares, a day-by-day series with the empty days filled in, and how durations read.
 *
 * Definitions (the hand-worked tests check exactly these):
 * - The window's cohort is every exception opened in (now - window, now].
 * - Time to claim = first claim - opened, over the cohort's exceptions that were ever claimed;
 *   time to resolve = resolved - opened, over the cohort's resolved ones.
 * - Median and P95 interpolate linearly between ranks (Postgres `percentile_cont`).
 * - Breach rate = cohort rows with an SLA breach / cohort rows.
 * - Shares of resolution: by retry, by recovery (a later successful sync) and by hand, over
 *   the cohort's resolved rows.
 */

export interface DurationStats {
  count: number;
  medianMs: number | null;
  p95Ms: number | null;
}

export interface Failing {
  name: string;
  /** Failure events (occurrences) in the window. */
  failures: number;
  exceptions: number;
}

export interface WindowFigures {
  opened: number;
  breached: number;
  resolved: number;
  byRetry: number;
  byRecovery: number;
  byHand: number;
  toClaim: DurationStats;
  toResolve: DurationStats;
  /** Opened per day of the report's time zone, oldest first, only days with any. */
  perDay: { day: string; opened: number }[];
  topTargets: Failing[];
  topSkus: Failing[];
}

export interface LiveRole {
  role: string;
  open: number;
  claimed: number;
  retrying: number;
  breached: number;
  oldestUnclaimed: CardRef | null;
}

/** An exception as a list line: enough to label it and link to its card. */
export interface CardRef {
  id: number;
  client: string;
  sku: string;
  channel: string;
  cardTs: string | null;
  openedAt: Date;
}

export interface RejectedFigures {
  total: number;
  unreviewed: number;
}

/** Linear interpolation between closest ranks, as Postgres `percentile_cont`. */
export function percentile(values: readonly number[], fraction: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = fraction * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] ?? 0;
  const highValue = sorted[high] ?? lowValue;
  return lowValue + (highValue - lowValue) * (rank - low);
}

export function breachRate(figures: Pick<WindowFigures, "opened" | "breached">): number | null {
  return figures.opened === 0 ? null : figures.breached / figures.opened;
}

export interface ResolutionShares {
  byRetry: number;
  byRecovery: number;
  byHand: number;
}

export function resolutionShares(
  figures: Pick<WindowFigures, "byRetry" | "byRecovery" | "byHand">,
): ResolutionShares | null {
  const total = figures.byRetry + figures.byRecovery + figures.byHand;
  if (total === 0) return null;
  return {
    byRetry: figures.byRetry / total,
    byRecovery: figures.byRecovery / total,
    byHand: figures.byHand / total,
  };
}

/**
 * Every calendar day of `timeZone` the window touches, oldest first, with 0 where nothing
 * opened. Days are stepped as dates, not as 24 hours, so a 23- or 25-hour day at a DST change
 * is one day.
 */
export function dailySeries(
  perDay: readonly { day: string; opened: number }[],
  now: Date,
  windowMs: number,
  timeZone = "UTC",
): { day: string; opened: number }[] {
  const counts = new Map(perDay.map((entry) => [entry.day, entry.opened]));
  const days: { day: string; opened: number }[] = [];
  const first = zonedDay(new Date(now.getTime() - windowMs + 1), timeZone);
  const last = zonedDay(now, timeZone);
  for (let at = Date.parse(`${first}T00:00:00Z`); ; at += 86_400_000) {
    const day = new Date(at).toISOString().slice(0, 10);
    days.push({ day, opened: counts.get(day) ?? 0 });
    if (day >= last) break;
  }
  return days;
}

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function zonedDay(date: Date, timeZone: string): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(date);
}

/** "45s", "12m", "1h 05m", "2d 3h": two units at most, rounded down. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "–";
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** "12.5%", "0%", "100%"; "–" when there is nothing to divide. */
export function formatPercent(fraction: number | null): string {
  if (fraction === null) return "–";
  const percent = Math.round(fraction * 1000) / 10;
  return `${percent}%`;
}

/** A bar of block characters scaled to the largest value, for day-by-day counts. */
export function sparkline(values: readonly number[]): string {
  const bars = "▁▂▃▄▅▆▇█";
  const max = Math.max(0, ...values);
  return values
    .map((value) =>
      max === 0 ? bars[0] : (bars[Math.min(7, Math.round((value / max) * 7))] ?? bars[0]),
    )
    .join("");
}
