/**
 * Support-hours calendar: how much "in-hours" time lies between two instants, and when a given
 * amount of it has elapsed. Pure: instants are epoch-ms numbers, time-zone math is done with
 * `Intl.DateTimeFormat` only.
 *
 * The model. On every local date whose weekday is in `hours.days`, support is open during one
 * window `[edge(date, startMinute), edge(date, endMinute))`, where `edge(date, minute)` is the
 * first instant at which the local clock reads that date and time *or later*. Outside DST
 * transitions that is simply the wall-clock time, so 08:00-18:00 is ten real hours on every
 * day, DST Sundays included. A window that contains a transition lasts its real elapsed time
 * (00:00-24:00 is 23 h on the spring-forward day and 25 h on the fall-back day). An edge that
 * falls in the skipped hour snaps to the end of the gap (02:30 on 2026-03-29 in Berlin is
 * 03:00 CEST), so a window lying wholly inside the gap is empty that day. An edge that falls in
 * the repeated hour takes its first occurrence. Every function below is defined from these
 * windows, which keeps them consistent with each other.
 */

import type { WeeklyHours } from "../routing/routing-file.schema.js";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Weekly hours always open within a week; a month without a window means corrupt input. */
const MAX_DAYS_WITHOUT_WINDOW = 31;

interface Window {
  start: number;
  end: number;
}

/** The instant when `durationMs` of in-hours time has elapsed counting from `startMs`. */
export function addBusinessTime(
  startMs: number,
  durationMs: number,
  hours: WeeklyHours | null,
  timezone: string,
): number {
  assertInstant(startMs, "startMs");
  if (!Number.isFinite(durationMs) || durationMs < 0) {
    throw new RangeError(`durationMs must be a finite number >= 0, got ${durationMs}`);
  }
  if (hours === null) return startMs + durationMs;
  let remaining = durationMs;
  for (const window of windowsEndingAfter(startMs, hours, timezone)) {
    const from = Math.max(startMs, window.start);
    const available = window.end - from;
    // `<=` so that exactly filling a window lands on its close (18:00), not the next opening.
    if (remaining <= available) return from + remaining;
    remaining -= available;
  }
  throw new Error("unreachable: windowsEndingAfter never ends");
}

/** In-hours ms elapsed between two instants; 0 if `toMs <= fromMs`. */
export function businessTimeBetween(
  fromMs: number,
  toMs: number,
  hours: WeeklyHours | null,
  timezone: string,
): number {
  assertInstant(fromMs, "fromMs");
  assertInstant(toMs, "toMs");
  if (toMs <= fromMs) return 0;
  if (hours === null) return toMs - fromMs;
  let total = 0;
  for (const window of windowsEndingAfter(fromMs, hours, timezone)) {
    if (window.start >= toMs) break;
    total += Math.min(toMs, window.end) - Math.max(fromMs, window.start);
  }
  return total;
}

/** Whether support is open at `ms`. `null` hours mean always open. */
export function isWithinHours(ms: number, hours: WeeklyHours | null, timezone: string): boolean {
  assertInstant(ms, "ms");
  if (hours === null) return true;
  return firstWindowEndingAfter(ms, hours, timezone).start <= ms;
}

/** The first instant at or after `ms` when support is open (`ms` itself if open now). */
export function nextOpening(ms: number, hours: WeeklyHours | null, timezone: string): number {
  assertInstant(ms, "ms");
  if (hours === null) return ms;
  return Math.max(ms, firstWindowEndingAfter(ms, hours, timezone).start);
}

function firstWindowEndingAfter(ms: number, hours: WeeklyHours, timezone: string): Window {
  for (const window of windowsEndingAfter(ms, hours, timezone)) return window;
  throw new Error("unreachable: windowsEndingAfter never ends");
}

/** Support windows in time order, starting with the first one that ends after `ms`. Endless. */
function* windowsEndingAfter(
  ms: number,
  hours: WeeklyHours,
  timezone: string,
): Generator<Window, never> {
  assertWeeklyHours(hours);
  const days = new Set(hours.days);
  const zone = zoneClock(timezone);
  // Start at the local date of `ms`: earlier dates' windows end by this date's first instant
  // (edges are monotone in wall time), which is at or before `ms`.
  let day = Math.floor(zone.wallAt(ms) / DAY_MS);
  let daysWithoutWindow = 0;
  for (; ; day++) {
    const window = days.has(weekdayOf(day)) ? windowOn(day, hours, zone) : null;
    if (window === null) {
      if (++daysWithoutWindow > MAX_DAYS_WITHOUT_WINDOW) {
        throw new Error(`no support window within ${MAX_DAYS_WITHOUT_WINDOW} days in ${timezone}`);
      }
      continue;
    }
    daysWithoutWindow = 0;
    if (window.end > ms) yield window;
  }
}

/** The window of local date `day` (days since 1970-01-01), or null when a DST gap empties it. */
function windowOn(day: number, hours: WeeklyHours, zone: ZoneClock): Window | null {
  const start = zone.firstInstantAtOrAfterWall(day * DAY_MS + hours.startMinute * MINUTE_MS);
  const end = zone.firstInstantAtOrAfterWall(day * DAY_MS + hours.endMinute * MINUTE_MS);
  return end > start ? { start, end } : null;
}

/** 1970-01-01 was a Thursday (4). */
function weekdayOf(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

function assertWeeklyHours(hours: WeeklyHours): void {
  if (hours.days.length === 0) {
    throw new RangeError(`weekly hours "${hours.text}" have no days: support would never open`);
  }
  for (const day of hours.days) {
    if (!Number.isInteger(day) || day < 0 || day > 6) {
      throw new RangeError(`weekly hours "${hours.text}" have day ${day}; expected 0..6`);
    }
  }
  const { startMinute, endMinute } = hours;
  if (!(startMinute >= 0 && endMinute <= 1440 && endMinute > startMinute)) {
    throw new RangeError(
      `weekly hours "${hours.text}" run ${startMinute}..${endMinute}; need 0 <= start < end <= 1440`,
    );
  }
}

function assertInstant(ms: number, name: string): void {
  if (!Number.isFinite(ms)) throw new RangeError(`${name} must be a finite epoch ms, got ${ms}`);
}

// ---------------------------------------------------------------------------------------------
// Time-zone arithmetic. A "wall" value is a local date-time encoded as if it were UTC epoch ms,
// so `wall = instant + offset` and local dates are `Math.floor(wall / DAY_MS)`.

interface ZoneClock {
  wallAt(ms: number): number;
  /** The first instant whose local clock reads `wall` or later. */
  firstInstantAtOrAfterWall(wall: number): number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timezone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timezone, formatter);
  }
  return formatter;
}

/** Offsets are memoised per call: walking day by day re-reads the same sample instants. */
function zoneClock(timezone: string): ZoneClock {
  const formatter = formatterFor(timezone);
  const offsets = new Map<number, number>();

  const offsetAt = (ms: number): number => {
    const cached = offsets.get(ms);
    if (cached !== undefined) return cached;
    const field: Record<string, number> = {};
    for (const part of formatter.formatToParts(ms)) field[part.type] = Number(part.value);
    const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = field;
    // The local fields read as UTC; `% 24` because some ICU builds print midnight as 24.
    const wall = Date.UTC(year, month - 1, day, hour % 24, minute, second);
    const offset = wall - (ms - (((ms % 1000) + 1000) % 1000)); // fields stop at whole seconds
    offsets.set(ms, offset);
    return offset;
  };

  const firstInstantAtOrAfterWall = (wall: number): number => {
    // Offsets lie within +-14 h, so the instant sought lies strictly between these samples.
    // Assumes at most one offset transition within those three days (true of IANA zones).
    const day = Math.floor(wall / DAY_MS);
    const before = offsetAt((day - 1) * DAY_MS);
    const after = offsetAt((day + 2) * DAY_MS);
    if (before === after) return wall - before;
    const early = wall - Math.max(before, after);
    const late = wall - Math.min(before, after);
    if (early + offsetAt(early) === wall) return early; // also the first of a repeated time
    if (late + offsetAt(late) === wall) return late;
    // The wall time was skipped: binary-search the transition, the first instant past it.
    let lo = early; // wall clock reads earlier than `wall`
    let hi = late; // wall clock reads later than `wall`
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (mid + offsetAt(mid) >= wall) hi = mid;
      else lo = mid;
    }
    return hi;
  };

  return { wallAt: (ms) => ms + offsetAt(ms), firstInstantAtOrAfterWall };
}
