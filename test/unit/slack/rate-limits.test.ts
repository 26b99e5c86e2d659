import {
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
} from "@slack/web-api";
import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  bucketsFor,
  bucketsToPause,
  coalesceDelay,
  DEFAULT_SLACK_LIMITS,
  isIdempotent,
  parseRetryAfter,
  withLimits,
} from "../../../src/platform/slack/rate-limits.js";
import { classifySlackError } from "../../../src/platform/slack/slack-errors.js";
import { channelOf } from "../../../src/platform/slack/transport.js";

describe("bucketsFor", () => {
  it("paces chat.postMessage per channel (~1/s, burst 3) under a workspace ceiling", () => {
    const buckets = bucketsFor(DEFAULT_SLACK_LIMITS, "chat.postMessage", "C0FULFILL");
    expect(buckets).toEqual([
      { key: "chat.postMessage:C0FULFILL", scope: "channel", intervalMs: 1000, toleranceMs: 2000 },
      { key: "chat.postMessage:*", scope: "workspace", intervalMs: 200, toleranceMs: 3800 },
    ]);
  });

  it("gives each channel its own bucket and one shared Tier 3 bucket to chat.update", () => {
    const a = bucketsFor(DEFAULT_SLACK_LIMITS, "chat.update", "C1").map((b) => b.key);
    const b = bucketsFor(DEFAULT_SLACK_LIMITS, "chat.update", "C2").map((b) => b.key);
    expect(a).toEqual(["chat.update:*", "chat.update:C1"]);
    expect(b).toEqual(["chat.update:*", "chat.update:C2"]);
    expect(bucketsFor(DEFAULT_SLACK_LIMITS, "chat.update", "C1")[0]?.intervalMs).toBe(1200);
  });

  it("falls back to Tier 3 for a method it does not list, in one bucket for all of them", () => {
    expect(bucketsFor(DEFAULT_SLACK_LIMITS, "reactions.add", "C1")).toEqual([
      { key: "fallback:*", scope: "workspace", intervalMs: 1200, toleranceMs: 4800 },
    ]);
  });

  it("uses the method bucket when a channel-scoped call names no channel", () => {
    const [bucket] = bucketsFor(DEFAULT_SLACK_LIMITS, "chat.postMessage");
    expect(bucket?.key).toBe("chat.postMessage:*");
  });

  it("lets overrides replace one method and keep the others", () => {
    const limits = withLimits({
      methods: { "chat.update": [{ perMinute: 6000, burst: 1, scope: "workspace" }] },
      retries: 0,
    });
    expect(bucketsFor(limits, "chat.update", "C1")).toEqual([
      { key: "chat.update:*", scope: "workspace", intervalMs: 10, toleranceMs: 0 },
    ]);
    expect(limits.methods["chat.postMessage"]).toEqual(
      DEFAULT_SLACK_LIMITS.methods["chat.postMessage"],
    );
    expect(limits.retries).toBe(0);
  });
});

describe("bucketsToPause", () => {
  it("pauses only the channel when the call has a channel bucket", () => {
    const buckets = bucketsFor(DEFAULT_SLACK_LIMITS, "chat.postMessage", "C1");
    expect(bucketsToPause(buckets).map((b) => b.key)).toEqual(["chat.postMessage:C1"]);
  });

  it("pauses the method when it has no channel bucket", () => {
    const buckets = bucketsFor(DEFAULT_SLACK_LIMITS, "views.publish");
    expect(bucketsToPause(buckets).map((b) => b.key)).toEqual(["views.publish:*"]);
  });
});

describe("backoffDelay", () => {
  const settings = { backoffMs: 1000, maxBackoffMs: 60_000 };
  it("doubles per attempt, between half and all of the step", () => {
    expect(backoffDelay(1, settings, () => 0)).toBe(500);
    expect(backoffDelay(1, settings, () => 1)).toBe(1000);
    expect(backoffDelay(3, settings, () => 0)).toBe(2000);
    expect(backoffDelay(3, settings, () => 1)).toBe(4000);
  });
  it("never exceeds the cap, however many attempts (Slack down for an hour)", () => {
    expect(backoffDelay(200, settings, () => 1)).toBe(60_000);
    expect(backoffDelay(200, settings, () => 0)).toBe(30_000);
  });
});

describe("parseRetryAfter", () => {
  it("reads whole and fractional seconds and refuses junk", () => {
    expect(parseRetryAfter("30")).toBe(30);
    expect(parseRetryAfter("1.5")).toBe(1.5);
    expect(parseRetryAfter("")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter("-1")).toBeUndefined();
  });
});

describe("coalesceDelay", () => {
  const now = new Date("2026-11-26T09:00:10.000Z");
  it("lets the first update go at once", () => {
    expect(coalesceDelay(null, now, 2000)).toBe(0);
    expect(coalesceDelay(new Date("2026-11-26T09:00:07.000Z"), now, 2000)).toBe(0);
  });
  it("holds an update inside the window until the window ends", () => {
    expect(coalesceDelay(new Date("2026-11-26T09:00:09.500Z"), now, 2000)).toBe(1500);
  });
});

describe("isIdempotent", () => {
  it("marks posts as unsafe to repeat blindly and updates as safe", () => {
    expect(isIdempotent("chat.postMessage")).toBe(false);
    expect(isIdempotent("chat.postEphemeral")).toBe(false);
    expect(isIdempotent("files.uploadV2")).toBe(false);
    expect(isIdempotent("chat.update")).toBe(true);
    expect(isIdempotent("conversations.history")).toBe(true);
  });
});

describe("channelOf", () => {
  it("reads the channel of a form-encoded or JSON body", () => {
    expect(channelOf("channel=C0FULFILL&text=hi")).toBe("C0FULFILL");
    expect(channelOf('{"channel":"C0ADS"}')).toBe("C0ADS");
    expect(channelOf("users=U1")).toBeUndefined();
    expect(channelOf(undefined)).toBeUndefined();
  });
});

describe("classifySlackError", () => {
  const platform = (error: string) => new WebAPIPlatformError({ ok: false, error });
  it("gives up on errors no repeat can fix", () => {
    expect(classifySlackError(platform("channel_not_found"))).toEqual({
      kind: "permanent",
      code: "channel_not_found",
    });
    expect(classifySlackError(platform("invalid_blocks")).kind).toBe("permanent");
  });
  it("keeps auth and scope errors (misconfiguration) for later, loudly", () => {
    expect(classifySlackError(platform("missing_scope")).kind).toBe("config");
    expect(classifySlackError(platform("invalid_auth")).kind).toBe("config");
  });
  it("retries when Slack answered without acting", () => {
    expect(classifySlackError(platform("internal_error")).kind).toBe("retry");
    expect(classifySlackError(new WebAPIHTTPError(503, "Service Unavailable", {}))).toEqual({
      kind: "retry",
      code: "http_503",
    });
    expect(classifySlackError(new WebAPIRateLimitedError(7))).toEqual({
      kind: "retry",
      code: "ratelimited",
      retryAfterMs: 7000,
    });
  });
  it("treats a lost connection, or our own failure after the call, as an unknown outcome", () => {
    expect(classifySlackError(new WebAPIRequestError(new Error("socket hang up"))).kind).toBe(
      "unknown",
    );
    expect(classifySlackError(new Error("connection terminated")).kind).toBe("unknown");
  });
});
