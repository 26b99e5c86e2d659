/**
 * The one outbound path to Slack, against the fake Slack and the real Redis buckets: posts
 * into one channel are paced even when two worker replicas post at once, a 429 pauses only
 * that channel for its Retry-After, 5xx answers and refused connections are retried, a lost
 * connection on a post is not repeated blindly, and Bolt's listener clients go through it too.
 */
import { randomUUID } from "node:crypto";
import { WebAPIRequestError } from "@slack/web-api";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeSlack, startFakeSlack } from "../../dev/slack/fake-slack.js";
import { ACTIONS } from "../../src/exceptions/card.js";
import { createLogger } from "../../src/platform/logger.js";
import { createSlackOutbound } from "../../src/platform/slack/outbound.js";
import { type SlackLimits, withLimits } from "../../src/platform/slack/rate-limits.js";
import type { Syncdesk } from "../../src/syncdesk.js";
import { FAST_SLACK_LIMITS } from "../support/fast-slack.js";
import { eventually, failureEvent, type Harness } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

const CHANNEL_MS = 100; // chat.postMessage: 600/min per channel in these tests
const BURST = 3;
const TOLERANCE_MS = 25; // HTTP and timer jitter between a Retry-After and the fake's clock

const LIMITS: Partial<SlackLimits> = {
  ...FAST_SLACK_LIMITS,
  methods: {
    ...FAST_SLACK_LIMITS.methods,
    // As in production (per channel, under a workspace ceiling), only ten times faster.
    "chat.postMessage": [
      { perMinute: 60_000 / CHANNEL_MS, burst: BURST, scope: "channel" },
      { perMinute: 60_000, burst: 100, scope: "workspace" },
    ],
  },
};

const cardPosts = (h: Harness, channel: string, status = 200) =>
  h.fake
    .callsTo("chat.postMessage")
    .filter((c) => c.body.channel === channel && !c.body.thread_ts && c.status === status);

const cardsIn = (h: Harness, channel: string) =>
  h.fake
    .messages(channel)
    .filter((m) => (m.metadata as { event_type?: string })?.event_type === "syncdesk_exception");

describe("outbound path through the running bot", () => {
  let replica: Syncdesk;
  const h = useHarness({
    // Storm grouping would fold a dozen similar failures into one card.
    env: { STORM_THRESHOLD: "1000" },
    start: { slackLimits: LIMITS, slackRetries: 3 },
  });

  it("paces cards into one channel at its rate after the burst, across two worker replicas", async () => {
    replica = await h.startAnother(["worker"]);
    // Slack counts on arrival and allows short bursts; ours is one call smaller, so HTTP and
    // timer jitter between a booked slot and its arrival does not cost a 429.
    h.fake.limitRate("chat.postMessage", {
      intervalMs: CHANNEL_MS,
      burst: BURST + 1,
      scope: "channel",
    });
    const n = 12;
    await Promise.all(
      Array.from({ length: n }, (_, i) => h.report(failureEvent({ sku: `SKU-PACE-${i}` }))),
    );
    await eventually(async () => cardsIn(h, "C0FULFILL").length >= n, 15_000, `${n} cards`);

    expect(cardsIn(h, "C0FULFILL")).toHaveLength(n);
    // Unpaced, a dozen posts in one burst would meet 429s here.
    expect(cardPosts(h, "C0FULFILL", 429)).toEqual([]);
  });

  it("honours 429 Retry-After on that channel only; other channels keep posting", async () => {
    h.fake.reset();
    h.fake.failNext("chat.postMessage", { status: 429, retryAfterSec: 3 });
    await h.report(failureEvent({ sku: "SKU-429-A" }));
    const limited = await h.fake.waitForCall("chat.postMessage", (c) => c.status === 429);
    await h.report(
      failureEvent({ sku: "SKU-429-B", targetSystem: "ads.google", failureMode: "throttled" }),
    );
    await eventually(async () => cardsIn(h, "C0ADS").length === 1, 10_000, "the C0ADS card");
    await eventually(async () => cardsIn(h, "C0FULFILL").length === 1, 10_000, "the paused card");

    const pausedAt = limited.at.getTime();
    const [other] = cardPosts(h, "C0ADS");
    const [retried] = cardPosts(h, "C0FULFILL");
    expect(limited.body.channel).toBe("C0FULFILL");
    // The other channel's card went out while this one was paused, however long its intake took.
    expect(other!.at.getTime()).toBeLessThan(retried!.at.getTime());
    expect(retried!.at.getTime() - pausedAt).toBeGreaterThanOrEqual(3000 - TOLERANCE_MS);
    const limitedCalls = [h.bot, replica].map((bot) =>
      bot.slackStats.calls("chat.postMessage", "rate_limited"),
    );
    expect(limitedCalls[0]! + limitedCalls[1]!).toBe(1);
  });

  it("retries 5xx answers with backoff and posts the card once", async () => {
    h.fake.reset();
    h.fake.failNext("chat.postMessage", { status: 500, times: 2 });
    await h.report(failureEvent({ sku: "SKU-5XX" }));
    await eventually(async () => cardsIn(h, "C0FULFILL").length === 1, 10_000, "the card");
    const statuses = h.fake.callsTo("chat.postMessage").map((c) => c.status);
    expect(statuses).toEqual([500, 500, 200]);
    const cardTs = await eventually(async () => (await h.exceptionsFor("SKU-5XX"))[0]?.cardTs);
    expect(cardTs).toBe(cardsIn(h, "C0FULFILL")[0]!.ts);
  });

  it("keeps retrying past the in-call retries when Slack stays broken, still one card", async () => {
    h.fake.reset();
    h.fake.failNext("chat.postMessage", { status: 503, times: 9 });
    await h.report(failureEvent({ sku: "SKU-5XX-LONG" }));
    await eventually(async () => cardsIn(h, "C0FULFILL").length === 1, 15_000, "the card");
    expect(h.fake.callsTo("chat.postMessage").filter((c) => c.status === 503)).toHaveLength(9);
    expect(cardsIn(h, "C0FULFILL")).toHaveLength(1);
  });

  it("sends the clients Bolt gives listeners through the same path", async () => {
    h.fake.reset();
    await h.report(failureEvent({ sku: "SKU-BOLT" }));
    const [row] = await eventually(async () => {
      const rows = await h.exceptionsFor("SKU-BOLT");
      return rows[0]?.cardTs ? rows : null;
    });
    const before = h.bot.slackStats.calls("views.open");
    h.fake.failNext("views.open", { status: 429, retryAfterSec: 1 });
    const res = await h.slack.blockAction({
      userId: "U0ALICE",
      userName: "alice",
      channelId: "C0FULFILL",
      messageTs: row!.cardTs!,
      actionId: ACTIONS.resolve,
      value: String(row!.id),
      triggerId: `${Date.now()}.1.${randomUUID()}`,
    });
    expect(res.status).toBe(200);
    await h.fake.waitForCall("views.open", (c) => c.status === 200, 5000);
    // The fake records a call before it answers: wait for the answer to be counted.
    await eventually(async () => h.bot.slackStats.calls("views.open") - before === 2);
    expect(h.bot.slackStats.calls("views.open", "rate_limited")).toBe(1);
  });
});

describe("outbound path and connection failures", () => {
  let fake: FakeSlack;
  let redis: Redis;
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    fake = await startFakeSlack();
    redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await fake.close();
  });

  /** A fetch that fails the next calls to `method` as given, then reaches the fake. */
  function flakyFetch(failures: Record<string, string[]>) {
    return async (url: string | URL, init?: Parameters<typeof fetch>[1]) => {
      const method = String(url).split("/").pop() ?? "";
      const code = failures[method]?.shift();
      if (code)
        throw new TypeError("fetch failed", { cause: Object.assign(new Error(code), { code }) });
      return fetch(url, init as RequestInit);
    };
  }

  const outbound = (failures: Record<string, string[]>) =>
    createSlackOutbound({
      token: "xoxb-test",
      apiUrl: fake.url,
      redis,
      prefix,
      logger: createLogger("silent"),
      limits: withLimits({ ...FAST_SLACK_LIMITS, retries: 3 }),
      fetch: flakyFetch(failures) as never,
    });

  it("retries a refused connection, which never reached Slack, even for a post", async () => {
    const { client, stats } = outbound({ "chat.postMessage": ["ECONNREFUSED", "ECONNREFUSED"] });
    await client.chat.postMessage({ channel: "C0ONE", text: "hello" });
    expect(fake.messages("C0ONE")).toHaveLength(1);
    expect(stats.calls("chat.postMessage", "network_error")).toBe(2);
    expect(stats.waits("chat.postMessage", "backoff").count).toBe(2);
  });

  it("does not repeat a post whose connection broke mid-call (the outbox reconciles it)", async () => {
    const { client } = outbound({ "chat.postMessage": ["ECONNRESET"] });
    await expect(
      client.chat.postMessage({ channel: "C0TWO", text: "hello" }),
    ).rejects.toBeInstanceOf(WebAPIRequestError);
    expect(fake.messages("C0TWO")).toHaveLength(0);
  });

  it("repeats an update whose connection broke mid-call: updating twice is harmless", async () => {
    const { client } = outbound({ "chat.update": ["ECONNRESET"] });
    const posted = await client.chat.postMessage({ channel: "C0THREE", text: "v1" });
    await client.chat.update({ channel: "C0THREE", ts: posted.ts!, text: "v2" });
    expect(fake.messages("C0THREE")[0]?.text).toBe("v2");
  });
});
