/**
 * A DDSketch-style log-bucket sketch of durations (milliseconds) with 1% relative accuracy:
 * a value v > 0 falls in bucket k = ceil(log_γ v) with γ = (1 + α) / (1 − α), α = 0.01, so
 * every value of bucket k lies in (γ^(k−1), γ^k], and the bucket's estimate 2γ^k / (γ + 1) is
 * within α of each of them. Zero (a clamped clock skew) has a bucket of its own, "z".
 *
 * Sketches merge by adding bucket counts, so a window's quantiles come from the minute rows
 * summed, in SQL or here, and stay within 1% of the exact answer (Masson, Rim and Lee,
 * "DDSketch", VLDB 2019). The stored form is the plain object itself, a jsonb column:
 * `{ "z": 3, "412": 17, "413": 2 }`. Pure.
 */

export const RELATIVE_ACCURACY = 0.01;
export const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);
export const ZERO_BUCKET = "z";

/** Bucket key -> count; "z" counts zeros. Plain JSON, as stored. */
export type Sketch = Record<string, number>;

export function emptySketch(): Sketch {
  return {};
}

/** The bucket of a value: "z" for zero (and anything not above it), else ceil(log_γ v). */
export function bucketOf(valueMs: number): string {
  if (!(valueMs > 0)) return ZERO_BUCKET;
  return String(Math.ceil(Math.log(valueMs) / LN_GAMMA));
}

/** The value a bucket stands for: within α of every value in it. */
export function bucketValue(key: string): number {
  if (key === ZERO_BUCKET) return 0;
  return (2 * GAMMA ** Number(key)) / (GAMMA + 1);
}

export function addValue(sketch: Sketch, valueMs: number, count = 1): Sketch {
  const key = bucketOf(valueMs);
  sketch[key] = (sketch[key] ?? 0) + count;
  return sketch;
}

/** Adds `other`'s counts into `into` (and returns it). */
export function mergeInto(into: Sketch, other: Readonly<Sketch>): Sketch {
  for (const [key, count] of Object.entries(other)) into[key] = (into[key] ?? 0) + count;
  return into;
}

export function sketchCount(sketch: Readonly<Sketch>): number {
  let total = 0;
  for (const count of Object.values(sketch)) total += count;
  return total;
}

/**
 * The q-quantile (0 < q <= 1) as the value of rank ceil(q·n) (1-based) in sorted order, the
 * "nearest rank" definition; null for an empty sketch. The exact answer under the same
 * definition is within 1% of it (see test/unit/deliveries/sketch.property.test.ts).
 */
export function quantile(sketch: Readonly<Sketch>, q: number): number | null {
  if (!(q > 0 && q <= 1)) throw new Error(`quantile ${q} is not in (0, 1]`);
  const n = sketchCount(sketch);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = sketch[ZERO_BUCKET] ?? 0;
  if (seen >= rank) return 0;
  const keys = Object.keys(sketch)
    .filter((key) => key !== ZERO_BUCKET)
    .map(Number)
    .sort((a, b) => a - b);
  for (const key of keys) {
    seen += sketch[String(key)] ?? 0;
    if (seen >= rank) return bucketValue(String(key));
  }
  // Counts summed to n, so the last bucket holds the rank.
  return bucketValue(String(keys[keys.length - 1]));
}

/** Reads a stored sketch, keeping only well-formed buckets with positive whole counts. */
export function parseSketch(stored: unknown): Sketch {
  const sketch: Sketch = {};
  if (typeof stored !== "object" || stored === null || Array.isArray(stored)) return sketch;
  for (const [key, value] of Object.entries(stored)) {
    const count = typeof value === "string" ? Number(value) : value;
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count <= 0) continue;
    if (key !== ZERO_BUCKET && !/^-?\d+$/.test(key)) continue;
    sketch[key] = count;
  }
  return sketch;
}
