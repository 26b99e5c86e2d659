/**
 * The sketch's promise: any P50/P95 computed from merged sketches is within 1% of the exact
 * answer on the same data, whatever the data and however it was split into minute rows.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addValue,
  bucketOf,
  emptySketch,
  GAMMA,
  mergeInto,
  parseSketch,
  quantile,
  RELATIVE_ACCURACY,
  type Sketch,
  sketchCount,
} from "../../../src/deliveries/sketch.js";

/** Nearest rank: the value of rank ceil(q·n) in sorted order. */
function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;
}

function withinAccuracy(estimate: number | null, exact: number): boolean {
  if (estimate === null) return false;
  if (exact === 0) return estimate === 0;
  return Math.abs(estimate - exact) / exact <= RELATIVE_ACCURACY + 1e-12;
}

// Time-to-sync in ms: zeros (clamped skew), milliseconds, minutes and days, mixed.
const duration = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 1000 }),
  fc.integer({ min: 1, max: 3_600_000 }),
  fc.integer({ min: 1, max: 30 * 86_400_000 }),
  fc.double({ min: 0.001, max: 1e9, noNaN: true }),
);

describe("the time-to-sync sketch", () => {
  it("uses γ = (1 + 1%) / (1 − 1%)", () => {
    expect(GAMMA).toBeCloseTo(1.01 / 0.99, 12);
  });

  it("P50, P95, P99 and max of merged sketches are within 1% of the exact answer", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(duration, { minLength: 0, maxLength: 200 }), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.constantFrom(0.5, 0.95, 0.99, 1),
        (minutes, q) => {
          const all = minutes.flat();
          fc.pre(all.length > 0);
          // One sketch per minute row, merged as a window query merges them.
          const rows = minutes.map((values) => {
            const sketch = emptySketch();
            for (const value of values) addValue(sketch, value);
            return sketch;
          });
          const merged = rows.reduce<Sketch>((into, row) => mergeInto(into, row), emptySketch());
          expect(sketchCount(merged)).toBe(all.length);
          const estimate = quantile(merged, q);
          const exact = exactQuantile(all, q);
          return withinAccuracy(estimate, exact);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("survives the trip through a jsonb column (keys as text, counts as numbers or text)", () => {
    fc.assert(
      fc.property(fc.array(duration, { minLength: 1, maxLength: 300 }), (values) => {
        const sketch = emptySketch();
        for (const value of values) addValue(sketch, value);
        const stored = JSON.parse(JSON.stringify(sketch));
        const textCounts = Object.fromEntries(
          Object.entries(stored).map(([key, count]) => [key, String(count)]),
        );
        expect(parseSketch(stored)).toEqual(sketch);
        expect(parseSketch(textCounts)).toEqual(sketch);
        return withinAccuracy(quantile(parseSketch(stored), 0.95), exactQuantile(values, 0.95));
      }),
    );
  });

  it("keeps zeros apart and answers null when empty", () => {
    expect(bucketOf(0)).toBe("z");
    expect(bucketOf(-5)).toBe("z");
    expect(quantile(emptySketch(), 0.5)).toBeNull();
    const sketch = addValue(addValue(emptySketch(), 0, 3), 1000);
    expect(quantile(sketch, 0.5)).toBe(0);
    expect(quantile(sketch, 1)).toBeCloseTo(1000, -1);
    expect(() => quantile(sketch, 0)).toThrow(/not in/);
  });

  it("reads nothing from a damaged stored value", () => {
    expect(parseSketch(null)).toEqual({});
    expect(parseSketch([1, 2])).toEqual({});
    expect(parseSketch({ x: 1, "3": -1, "4": 1.5, "5": 2, z: 1 })).toEqual({ "5": 2, z: 1 });
  });
});
