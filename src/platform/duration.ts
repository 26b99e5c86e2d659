// Durations and percentages as written in the routing file: "90s", "15m", "2h", "1d",
// compounds like "1h30m", and "50%". Pure; every parser throws an Error whose message can be
// shown to the person who wrote the file.

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNIT_MS;
const UNITS_LARGEST_FIRST: readonly Unit[] = ["d", "h", "m", "s"];

// Units must appear largest first and at most once: "1h30m" yes, "30m1h" and "1h1h" no.
const DURATION_RE = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

const DURATION_HINT = "expected a duration like 90s, 15m, 2h, 1d or 1h30m";

/** Parses a routing-file duration into milliseconds. Rejects zero, negatives and anything else. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const groups = trimmed === "" ? null : DURATION_RE.exec(trimmed);
  if (!groups) throw new Error(`invalid duration ${JSON.stringify(text)}: ${DURATION_HINT}`);
  let ms = 0;
  UNITS_LARGEST_FIRST.forEach((unit, i) => {
    const digits = groups[i + 1];
    if (digits !== undefined) ms += Number(digits) * UNIT_MS[unit];
  });
  if (!Number.isSafeInteger(ms)) throw new Error(`duration ${JSON.stringify(text)} is too large`);
  if (ms === 0) throw new Error(`duration ${JSON.stringify(text)} must be greater than zero`);
  return ms;
}

/**
 * Formats milliseconds for people: 90000 -> "1m 30s", 7200000 -> "2h", 0 -> "0s".
 * Sub-second remainders are dropped (a countdown never shows time that is not there);
 * negative values keep their sign, e.g. "-5m" for "5 minutes overdue".
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new Error(`cannot format duration ${ms}`);
  const sign = ms < 0 ? "-" : "";
  let rest = Math.floor(Math.abs(ms) / 1000) * 1000;
  const parts: string[] = [];
  for (const unit of UNITS_LARGEST_FIRST) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * UNIT_MS[unit];
  }
  return parts.length === 0 ? "0s" : sign + parts.join(" ");
}

const PERCENT_RE = /^(\d+)%$/;
export const MIN_PERCENT = 1;
export const MAX_PERCENT = 1000;

/** Parses "50%" into the fraction 0.5. Whole percentages from 1% to 1000%. */
export function parsePercentage(text: string): number {
  const groups = PERCENT_RE.exec(text.trim());
  const value = groups?.[1] === undefined ? Number.NaN : Number(groups[1]);
  if (Number.isNaN(value)) {
    throw new Error(`invalid percentage ${JSON.stringify(text)}: expected a whole number like 50%`);
  }
  if (value < MIN_PERCENT || value > MAX_PERCENT) {
    throw new Error(
      `percentage ${JSON.stringify(text)} is out of range: expected ${MIN_PERCENT}% to ${MAX_PERCENT}%`,
    );
  }
  return value / 100;
}
