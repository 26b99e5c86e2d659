/**
 * Clicks acked at the edge, through the real receiver, a real Bolt app and the real Redis: a
 * verified click is recorded, then answered at once, whatever its listener is still doing, and
 * its work is done once; forms and commands are still answered by their listeners; a forged
 * click reaches no listener; a failing listener is logged.
 */
import { randomUUID } from "node:crypto";
import type { App, BlockAction } from "@slack/bolt";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeSlack, startFakeSlack } from "../../dev/slack/fake-slack.js";
import { type SlackRequester, signSlackRequest, slackRequester } from "../../dev/slack/signing.js";
import { createLogger } from "../../src/platform/logger.js";
import { clearPrefix } from "../../src/platform/queue/redis.js";
import { createSlackApp } from "../../src/platform/slack/app.js";
import { CLICK_QUEUE } from "../../src/platform/slack/edge-ack.js";
import { eventually } from "../support/harness.js";
import { listenForSlack } from "../support/listening-app.js";

const SECRET = "edge-ack-signing-secret";
const CARD = { channelId: "C0OPS", messageTs: "1700000000.000100" };

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const PREFIX = `test-${randomUUID().slice(0, 8)}`;

let fake: FakeSlack;
let redis: Redis;
let clicks: Queue;
let app: App;
let slack: SlackRequester;
const lines: Record<string, unknown>[] = [];
const clicked: string[] = [];
const counted: string[] = [];
let running = false;
const events: { what: string; at: number }[] = [];
let release: () => void = () => {};

beforeAll(async () => {
  fake = await startFakeSlack({ channels: [{ id: "C0OPS", name: "ops" }] });
  const sink = { write: (line: string) => lines.push(JSON.parse(line)) };
  const logger = createLogger("info", sink as unknown as NodeJS.WritableStream);
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  clicks = new Queue(CLICK_QUEUE, { connection: redis, prefix: PREFIX });
  ({ app } = await createSlackApp({
    token: "xoxb-edge-test",
    signingSecret: SECRET,
    slackApiUrl: fake.url,
    logger,
    health: async () => true,
    edge: { redis, prefix: PREFIX, unhandledRequestTimeoutMs: 2500 },
  }));
  // A listener that never acks and waits until told: the click is answered all the same.
  app.action<BlockAction>("slow", async ({ body }) => {
    running = true;
    await new Promise<void>((resolve) => {
      release = resolve;
    });
    clicked.push(`slow by ${body.user.id}`);
  });
  app.action<BlockAction>("broken", async ({ ack }) => {
    await ack();
    throw new Error("listener blew up");
  });
  // A form whose answer takes `wait_ms` (from its private metadata), as a slow database would.
  app.view("slow-form", async ({ ack, view }) => {
    await new Promise((resolve) => setTimeout(resolve, Number(view.private_metadata)));
    events.push({ what: "form answered", at: performance.now() });
    await ack();
  });
  app.action<BlockAction>("counted", async ({ body }) => {
    counted.push(body.user.id);
  });
  app.action<BlockAction>("order", async () => {
    events.push({ what: "click work", at: performance.now() });
  });
  app.view("form", async ({ ack }) => {
    await ack({ response_action: "errors", errors: { note: "Say more." } });
  });
  app.command("/silent", async () => {}); // never acks
  app.command("/inventory", async ({ ack }) => {
    await ack({ response_type: "ephemeral", text: "answered by the listener" });
  });
  slack = await listenForSlack(app, SECRET, fake);
});
afterAll(async () => {
  release();
  await app?.stop();
  await fake?.close();
  await clicks?.close();
  if (redis) await clearPrefix(redis, PREFIX);
  await redis?.quit();
});

describe("clicks acked at the edge", () => {
  it("records a verified click, answers it at once, then runs its listener once", async () => {
    const res = await slack.blockAction({ ...CARD, userId: "U0ALICE", actionId: "slow" });
    expect(res).toMatchObject({ status: 200, body: "" });
    // Recorded before the answer: the record is there even if the process died now.
    const [recorded] = await clicks.getJobs(["waiting", "active", "completed"]);
    expect(recorded?.data.body).toMatchObject({ type: "block_actions", user: { id: "U0ALICE" } });
    await eventually(async () => running);
    expect(clicked).toEqual([]);
    release();
    await eventually(async () => clicked.includes("slow by U0ALICE"));
    await eventually(async () => (await clicks.getJobState(recorded!.id!)) === "completed");
    expect(clicked.filter((c) => c === "slow by U0ALICE")).toHaveLength(1);
  });

  it("records a burst of clicks together, answers each, and does each once", async () => {
    const users = Array.from({ length: 25 }, (_, i) => `U0BURST${i}`);
    const answers = await Promise.all(
      users.map((userId) => slack.blockAction({ ...CARD, userId, actionId: "counted" })),
    );
    expect(answers.map((res) => res.status)).toEqual(users.map(() => 200));
    const recorded = await clicks.getJobs(["waiting", "active", "completed"]);
    const burst = recorded.filter((job) => job.data.body.actions?.[0]?.action_id === "counted");
    expect(burst).toHaveLength(users.length);
    await eventually(async () => counted.length >= users.length);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect([...counted].sort()).toEqual([...users].sort());
  });

  it("dispatches nothing for a forged click", async () => {
    const forged = slackRequester({ ...slack.target, signingSecret: "not-the-secret" });
    const res = await forged.blockAction({ ...CARD, userId: "U0EVE", actionId: "slow" });
    expect(res.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(clicked).not.toContain("slow by U0EVE");
  });

  it("still lets forms and commands answer in their ack", async () => {
    const form = await slack.viewSubmission({ userId: "U0ALICE", callbackId: "form" });
    expect(form.json).toEqual({ response_action: "errors", errors: { note: "Say more." } });
    const command = await slack.command({
      command: "/inventory",
      userId: "U0ALICE",
      channelId: "C0OPS",
    });
    expect(command.json).toMatchObject({ text: "answered by the listener" });
  });

  /** A form whose answer takes `formMs`, then a click while it waits. */
  async function clickDuringSlowForm(formMs: number) {
    events.length = 0;
    const form = slack.viewSubmission({
      userId: "U0ALICE",
      callbackId: "slow-form",
      privateMetadata: String(formMs),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const clickedAt = performance.now();
    const click = await slack.blockAction({ ...CARD, userId: "U0ALICE", actionId: "order" });
    expect(click.status).toBe(200);
    const work = await eventually(async () => events.find((e) => e.what === "click work"));
    await form;
    return { heldMs: work.at - clickedAt };
  }

  it("holds a click's work while another request still waits for its answer", async () => {
    await clickDuringSlowForm(300);
    expect(events.map((e) => e.what)).toEqual(["form answered", "click work"]);
  });

  it("holds it at most a second when answers are slower than that", async () => {
    const { heldMs } = await clickDuringSlowForm(2000);
    expect(heldMs).toBeGreaterThanOrEqual(900);
    expect(heldMs).toBeLessThan(1500);
    expect(events.map((e) => e.what)).toEqual(["click work", "form answered"]);
  });

  it("logs a listener that fails after the ack, with the action it was for", async () => {
    const res = await slack.blockAction({ ...CARD, userId: "U0ALICE", actionId: "broken" });
    expect(res.status).toBe(200);
    const logged = await eventually(async () =>
      lines.find((l) => l.msg === "click listener failed"),
    );
    expect(logged).toMatchObject({ level: 50, actions: ["broken"] });
  });
});

describe("the receiver as Bolt's own would answer", () => {
  it("answers 404 for a request no listener acked in time, and for unknown paths", async () => {
    const silent = await slack.command({ command: "/silent", userId: "U0ALICE", channelId: "C0X" });
    expect(silent.status).toBe(404);
    expect((await fetch(new URL("/nowhere", slack.target.url))).status).toBe(404);
    expect((await fetch(new URL("/healthz", slack.target.url))).status).toBe(200);
  });

  it("answers 400 to a signed body it cannot parse", async () => {
    expect((await slack.raw("{not json", "application/json")).status).toBe(400);
  });

  it("refuses a valid signature with anything after it (Bolt compares only the hash)", async () => {
    const body = "command=%2Finventory&text=help&user_id=U0ALICE&channel_id=C0X";
    const timestampSec = Math.floor(Date.now() / 1000);
    const { "x-slack-signature": signature } = signSlackRequest(SECRET, body, timestampSec);
    const FORM = "application/x-www-form-urlencoded";
    for (const suffix of ["=1", "=2"])
      expect(
        (await slack.raw(body, FORM, { timestampSec, signature: `${signature}${suffix}` })).status,
      ).toBe(401);
  });
});
