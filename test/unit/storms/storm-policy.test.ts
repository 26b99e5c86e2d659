import { describe, expect, it } from "vitest";
import { stormKey, stormLabel } from "../../../src/storms/storm-key.js";
import {
  coalesceSlot,
  decideStorm,
  quietCheck,
  retryDelay,
  windowStart,
} from "../../../src/storms/storm-policy.js";

describe("decideStorm", () => {
  it("forms a storm at one new fingerprint past the threshold, not at the threshold", () => {
    expect(decideStorm({ openStormId: null, newInWindow: 20, threshold: 20 })).toEqual({
      kind: "none",
    });
    expect(decideStorm({ openStormId: null, newInWindow: 21, threshold: 20 })).toEqual({
      kind: "form",
    });
  });

  it("joins the open storm of the kind whatever the count", () => {
    expect(decideStorm({ openStormId: 7, newInWindow: 1, threshold: 20 })).toEqual({
      kind: "join",
      stormId: 7,
    });
  });
});

describe("windowStart", () => {
  it("is the window before now", () => {
    expect(windowStart(new Date("2026-11-26T09:05:00Z"), 300_000)).toEqual(
      new Date("2026-11-26T09:00:00Z"),
    );
  });
});

describe("quietCheck", () => {
  const lastMemberAt = new Date("2026-11-26T09:00:00Z");
  it("is quiet once a whole window passed without a member", () => {
    expect(
      quietCheck({ lastMemberAt, windowMs: 300_000, now: new Date("2026-11-26T09:05:00Z") }),
    ).toEqual({ quiet: true });
  });
  it("says when to look again while the window runs", () => {
    expect(
      quietCheck({ lastMemberAt, windowMs: 300_000, now: new Date("2026-11-26T09:04:59.999Z") }),
    ).toEqual({ quiet: false, dueAt: new Date("2026-11-26T09:05:00Z") });
  });
});

describe("coalesceSlot", () => {
  it("gives every change in one slot the same slot, due just after it closes", () => {
    const a = coalesceSlot(new Date(10_000), 2000);
    const b = coalesceSlot(new Date(11_999), 2000);
    expect(a.slot).toBe(b.slot);
    expect(a).toEqual({ slot: 5, delayMs: 2050 });
    expect(b).toEqual({ slot: 5, delayMs: 51 });
    expect(coalesceSlot(new Date(12_000), 2000).slot).toBe(6);
  });
});

describe("retryDelay", () => {
  it("spaces retries by the interval", () => {
    expect([0, 1, 2].map((i) => retryDelay(i, 200))).toEqual([0, 200, 400]);
  });
});

describe("stormKey", () => {
  const kind = {
    client: "acme",
    targetSystem: "ads.google",
    failureMode: "throttled",
    role: "ops",
  };
  it("is the same for the same kind and differs when any part differs", () => {
    expect(stormKey(kind)).toBe(stormKey({ ...kind }));
    for (const part of ["client", "targetSystem", "failureMode", "role"] as const) {
      expect(stormKey({ ...kind, [part]: `${kind[part]}x` })).not.toBe(stormKey(kind));
    }
  });
  it("cannot be confused by separators inside the parts", () => {
    expect(stormKey({ ...kind, client: "a|b", targetSystem: "c" })).not.toBe(
      stormKey({ ...kind, client: "a", targetSystem: "b|c" }),
    );
  });
  it("labels storms ST-n", () => {
    expect(stormLabel(12)).toBe("ST-12");
  });
});
