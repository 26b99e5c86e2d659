import { describe, expect, it } from "vitest";
import {
  breachRate,
  dailySeries,
  formatDuration,
  formatPercent,
  percentile,
  resolutionShares,
  sparkline,
  zonedDay,
} from "../../../src/inventory/figures.js";

describe("percentile (linear interpolation, as Postgres percentile_cont)", () => {
  it("takes the middle value, or the mean of the two middle values", () => {
    expect(percentile([3, 1, 2], 0.5)).toBe(2);
    expect(percentile([4, 1, 3, 2], 0.5)).toBe(2.5);
  });

  it("interpolates P95 between the closest ranks", () => {
    // rank 0.95 * 9 = 8.55: 9 + 0.55 * (10 - 9)
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95)).toBeCloseTo(9.55, 10);
    expect(percentile([10], 0.95)).toBe(10);
  });

  it("has nothing to say about nothing", () => {
    expect(percentile([], 0.5)).toBeNull();
  });
});

describe("rates and shares", () => {
  it("breach rate is breached over opened", () => {
    expect(breachRate({ opened: 8, breached: 2 })).toBe(0.25);
    expect(breachRate({ opened: 0, breached: 0 })).toBeNull();
  });

  it("shares of resolution add up to one", () => {
    expect(resolutionShares({ byRetry: 2, byRecovery: 1, byHand: 1 })).toEqual({
      byRetry: 0.5,
      byRecovery: 0.25,
      byHand: 0.25,
    });
    expect(resolutionShares({ byRetry: 0, byRecovery: 0, byHand: 0 })).toBeNull();
  });
});

describe("dailySeries", () => {
  it("lists every UTC day the window touches, zero where nothing opened", () => {
    const now = new Date("2026-11-26T10:00:00Z");
    const series = dailySeries(
      [
        { day: "2026-11-24", opened: 3 },
        { day: "2026-11-26", opened: 1 },
      ],
      now,
      3 * 86_400_000,
    );
    expect(series).toEqual([
      { day: "2026-11-23", opened: 0 },
      { day: "2026-11-24", opened: 3 },
      { day: "2026-11-25", opened: 0 },
      { day: "2026-11-26", opened: 1 },
    ]);
  });

  it("counts calendar days of a time zone, one day across a DST change", () => {
    // 09:00 UTC on 26 Nov is 22:00 on the 26th in Auckland (UTC+13) and 01:00 in Los Angeles.
    const now = new Date("2026-11-26T09:00:00Z");
    expect(dailySeries([], now, 86_400_000, "Pacific/Auckland").map((d) => d.day)).toEqual([
      "2026-11-25",
      "2026-11-26",
    ]);
    expect(zonedDay(now, "America/Los_Angeles")).toBe("2026-11-26");
    expect(zonedDay(new Date("2026-11-26T07:59:00Z"), "America/Los_Angeles")).toBe("2026-11-25");
    // Berlin's 25-hour day (25 Oct 2026) is one day of the series, not two.
    const afterDst = new Date("2026-10-26T12:00:00Z");
    expect(dailySeries([], afterDst, 3 * 86_400_000, "Europe/Berlin").map((d) => d.day)).toEqual([
      "2026-10-23",
      "2026-10-24",
      "2026-10-25",
      "2026-10-26",
    ]);
  });

  it("covers a 24 h window with the two days it spans", () => {
    const series = dailySeries([], new Date("2026-11-26T10:00:00Z"), 86_400_000);
    expect(series.map((d) => d.day)).toEqual(["2026-11-25", "2026-11-26"]);
  });
});

describe("formatting", () => {
  it.each([
    [null, "–"],
    [0, "0s"],
    [45_999, "45s"],
    [60_000, "1m"],
    [12 * 60_000 + 59_000, "12m"],
    [3_600_000 + 5 * 60_000, "1h 05m"],
    [26 * 3_600_000, "1d 2h"],
  ])("duration %s reads %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("percentages keep one decimal", () => {
    expect(formatPercent(0.125)).toBe("12.5%");
    expect(formatPercent(1 / 3)).toBe("33.3%");
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(null)).toBe("–");
  });

  it("sparkline scales to the largest value", () => {
    expect(sparkline([0, 1, 7])).toBe("▁▂█");
    expect(sparkline([0, 0])).toBe("▁▁");
  });
});
