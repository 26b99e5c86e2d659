import { describe, expect, it } from "vitest";
import { sweepDelayMs } from "../../../src/intake/intake-sweeper.js";

describe("sweepDelayMs", () => {
  it("doubles from the base after each failed run, up to an hour", () => {
    expect([1, 2, 3, 4].map((n) => sweepDelayMs(n, 30_000))).toEqual([
      30_000, 60_000, 120_000, 240_000,
    ]);
    expect(sweepDelayMs(0, 30_000)).toBe(30_000);
    expect(sweepDelayMs(20, 30_000)).toBe(3_600_000);
  });
});
