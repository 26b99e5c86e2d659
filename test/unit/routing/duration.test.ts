import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration, parsePercentage } from "../../../src/platform/duration.js";

describe("parseDuration", () => {
  it.each([
    ["90s", 90_000],
    ["15m", 900_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1h30m", 5_400_000],
    ["1d2h3m4s", 93_784_000],
    ["120m", 7_200_000],
    [" 5m ", 300_000],
  ])("reads %j as %i ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    "",
    "0s",
    "0m0s",
    "15",
    "m",
    "15 m",
    "15min",
    "1.5h",
    "-5m",
    "30m1h",
    "1h1h",
    "2w",
    "15M",
    "soon",
    "99999999999999999999d",
  ])("rejects %j with a message naming the value", (text) => {
    expect(() => parseDuration(text)).toThrow(JSON.stringify(text));
  });

  it("says what a valid duration looks like", () => {
    expect(() => parseDuration("soon")).toThrow(/like 90s, 15m, 2h, 1d/);
  });

  it("says why zero is refused", () => {
    expect(() => parseDuration("0m")).toThrow(/greater than zero/);
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [90_000, "1m 30s"],
    [7_200_000, "2h"],
    [86_400_000 + 3_600_000, "1d 1h"],
    [93_784_000, "1d 2h 3m 4s"],
    [999, "0s"],
    [61_999, "1m 1s"],
    [-300_000, "-5m"],
  ])("formats %i ms as %j", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("round-trips what parseDuration reads", () => {
    for (const text of ["90s", "15m", "2h", "1d", "1h30m"]) {
      expect(parseDuration(formatDuration(parseDuration(text)).replaceAll(" ", ""))).toBe(
        parseDuration(text),
      );
    }
  });
});

describe("parsePercentage", () => {
  it.each([
    ["50%", 0.5],
    ["100%", 1],
    ["1%", 0.01],
    ["1000%", 10],
  ])("reads %j as %d", (text, fraction) => {
    expect(parsePercentage(text)).toBe(fraction);
  });

  it.each(["0%", "1001%", "50", "12.5%", "%", "half"])("rejects %j", (text) => {
    expect(() => parsePercentage(text)).toThrow(JSON.stringify(text));
  });
});
