/**
 * The relay wakes when rows are queued, and a wake-up for a channel it is already writing to
 * waits for that channel's lane to end instead (one lane a channel). With the poll an hour
 * away, every card below goes out on wake-ups alone: none is left for the next poll.
 */
import { describe, expect, it } from "vitest";
import type { SlackLimits } from "../../src/platform/slack/rate-limits.js";
import { FAST_OUTBOX, FAST_SLACK_LIMITS } from "../support/fast-slack.js";
import { eventually, failureEvent } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

const CHANNEL_MS = 100; // chat.postMessage pace per channel: production's, ten times faster

const LIMITS: Partial<SlackLimits> = {
  ...FAST_SLACK_LIMITS,
  methods: {
    ...FAST_SLACK_LIMITS.methods,
    "chat.postMessage": [
      { perMinute: 60_000 / CHANNEL_MS, burst: 1, scope: "channel" },
      { perMinute: 60_000, burst: 100, scope: "workspace" },
    ],
  },
};

const h = useHarness({
  env: { STORM_THRESHOLD: "1000" },
  start: { slackLimits: LIMITS, slackOutbox: { ...FAST_OUTBOX, pollMs: 3_600_000 } },
});

const cardsIn = (channel: string) =>
  h.fake
    .messages(channel)
    .filter((m) => (m.metadata as { event_type?: string })?.event_type === "syncdesk_exception");

describe("outbox wake-ups", () => {
  it("posts every card of a burst into one paced channel without waiting for the poll", async () => {
    const n = 10;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: n }, (_, i) => h.report(failureEvent({ sku: `SKU-WAKE-${i}` }))),
    );
    // Cards arrive while the channel's lane waits on its pace: their wake-ups are skipped.
    await h.report(
      failureEvent({ sku: "SKU-WAKE-ADS", targetSystem: "ads.google", failureMode: "throttled" }),
    );
    await eventually(async () => cardsIn("C0FULFILL").length >= n, 10_000, `${n} cards`);
    await eventually(async () => cardsIn("C0ADS").length >= 1, 10_000, "the C0ADS card");
    expect(cardsIn("C0FULFILL")).toHaveLength(n);
    // Paced at 100 ms a card: about a second. A wake-up lost would wait for the hour-long poll,
    // and the eventually above would time out; this bounds the time left to the lane ends.
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
