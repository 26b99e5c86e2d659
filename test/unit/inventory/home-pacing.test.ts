import { describe, expect, it } from "vitest";
import {
  HOME_PUBLISHES_PER_MINUTE,
  HOME_REFRESH_WINDOW_MS,
  homeWindowMs,
  nextPublishAt,
} from "../../../src/inventory/home-pacing.js";

describe("nextPublishAt", () => {
  it("publishes at once when nothing was published, or the last was a window ago", () => {
    expect(nextPublishAt(null, 10_000, 2000)).toBe(10_000);
    expect(nextPublishAt(7000, 10_000, 2000)).toBe(10_000);
  });
  it("waits out the window after a recent publish", () => {
    expect(nextPublishAt(9000, 10_000, 2000)).toBe(11_000);
    expect(nextPublishAt(10_000, 10_000, 2000)).toBe(12_000);
  });
  it("adds nothing while a publish is booked after now: it will draw this change too", () => {
    expect(nextPublishAt(10_001, 10_000, 2000)).toBeNull();
  });
  it("publishes at most once per window however many changes arrive", () => {
    let last: number | null = null;
    const booked: number[] = [];
    for (let now = 0; now < 10_000; now += 10) {
      const at = nextPublishAt(last, now, 2000);
      if (at !== null) {
        booked.push(at);
        last = at;
      }
    }
    expect(booked).toEqual([0, 2000, 4000, 6000, 8000, 10_000]);
  });
});

describe("homeWindowMs", () => {
  it("keeps the base window for a few viewers", () => {
    expect(homeWindowMs(1)).toBe(HOME_REFRESH_WINDOW_MS);
  });
  it("widens so that every viewer's publishes together fit the per-minute budget", () => {
    for (const viewers of [10, 50, 200]) {
      const perMinute = viewers * (60_000 / homeWindowMs(viewers));
      expect(perMinute).toBeLessThanOrEqual(HOME_PUBLISHES_PER_MINUTE);
    }
  });
});
