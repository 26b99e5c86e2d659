/** Stream entry ids order as (ms, seq) pairs of integers, never as text. */
import { describe, expect, it } from "vitest";
import {
  compareStreamIds,
  laterStreamId,
  parseStreamId,
  STREAM_START,
} from "../../../src/deliveries/stream-id.js";

describe("stream entry ids", () => {
  it("compare as numbers, milliseconds first", () => {
    expect(compareStreamIds("9-0", "10-0")).toBeLessThan(0);
    expect(compareStreamIds("10-2", "10-10")).toBeLessThan(0);
    expect(compareStreamIds("11-0", "10-99")).toBeGreaterThan(0);
    expect(compareStreamIds("5-5", "5-5")).toBe(0);
    expect(compareStreamIds(STREAM_START, "0-1")).toBeLessThan(0);
  });

  it("keep sequences past 2^53 exact", () => {
    expect(compareStreamIds("1-9007199254740993", "1-9007199254740992")).toBeGreaterThan(0);
  });

  it("pick the later of two, and refuse what is not an id", () => {
    expect(laterStreamId("1796415705070-3", "1796415705070-12")).toBe("1796415705070-12");
    expect(laterStreamId("20-0", "3-0")).toBe("20-0");
    expect(() => parseStreamId("12")).toThrow("not a stream entry id");
    expect(() => parseStreamId("a-1")).toThrow("not a stream entry id");
  });
});
