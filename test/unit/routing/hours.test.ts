import { describe, expect, it } from "vitest";
import { isValidTimeZone, parseWeeklyHours } from "../../../src/routing/routing-file.schema.js";

describe("parseWeeklyHours", () => {
  it("reads weekdays with office hours", () => {
    expect(parseWeeklyHours("Mon-Fri 08:00-18:00")).toEqual({
      days: [1, 2, 3, 4, 5],
      startMinute: 480,
      endMinute: 1080,
      text: "Mon-Fri 08:00-18:00",
    });
  });

  it("reads a whole week up to 24:00", () => {
    expect(parseWeeklyHours("Mon-Sun 00:00-24:00")).toMatchObject({
      days: [0, 1, 2, 3, 4, 5, 6],
      startMinute: 0,
      endMinute: 1440,
    });
  });

  it("reads a list of days", () => {
    expect(parseWeeklyHours("Mon,Wed,Fri 09:00-17:00")).toMatchObject({
      days: [1, 3, 5],
      startMinute: 540,
      endMinute: 1020,
    });
  });

  it("reads a range that wraps over the weekend", () => {
    expect(parseWeeklyHours("Fri-Mon 10:00-14:30")?.days).toEqual([0, 1, 5, 6]);
  });

  it("treats always as no hours at all", () => {
    expect(parseWeeklyHours("always")).toBeNull();
  });

  it.each([
    "",
    "weekdays",
    "Mon-Fri",
    "Mon-Fri 8-18",
    "Mon-Fri 18:00-08:00",
    "Mon-Fri 09:00-09:00",
    "Mon-Fri 24:00-24:00",
    "Mon-Fri 08:00-25:00",
    "Mon-Fri 08:60-18:00",
    "Mon-Fry 08:00-18:00",
    "Mon-Wed-Fri 08:00-18:00",
    "Mon, Wed 08:00-18:00",
  ])("rejects %j", (text) => {
    expect(() => parseWeeklyHours(text)).toThrow();
  });
});

describe("isValidTimeZone", () => {
  it.each(["UTC", "Europe/Berlin", "America/New_York"])("accepts %s", (zone) => {
    expect(isValidTimeZone(zone)).toBe(true);
  });

  it.each(["", "Mars/Base", "Berlin", "GMT+25"])("rejects %j", (zone) => {
    expect(isValidTimeZone(zone)).toBe(false);
  });
});
