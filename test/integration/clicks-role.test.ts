/**
 * Who does a click's work: a web process, until a `clicks` process runs; then the clicks process
 * alone, while the web process only verifies, records and answers; and the web process again
 * as soon as the clicks process stops. Two real Bolt apps on the real Redis, each with its own
 * connection, as two processes would be; presence timings are shortened. A clicks process
 * killed outright is in the fault suite (test/faults/clicks.test.ts).
 */
import { randomUUID } from "node:crypto";
import type { App, BlockAction } from "@slack/bolt";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeSlack, startFakeSlack } from "../../dev/slack/fake-slack.js";
import type { SlackRequester } from "../../dev/slack/signing.js";
import { loadEnv } from "../../src/env.js";
import { createLogger } from "../../src/platform/logger.js";
import { clearPrefix } from "../../src/platform/queue/redis.js";
import { createSlackApp, type SlackApp } from "../../src/platform/slack/app.js";
import { startSyncdesk } from "../../src/syncdesk.js";
import { eventually } from "../support/harness.js";
import { listenForSlack } from "../support/listening-app.js";

const SECRET = "clicks-role-signing-secret";
const CARD = { channelId: "C0OPS", messageTs: "1700000000.000100" };
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const PREFIX = `test-${randomUUID().slice(0, 8)}`;
/** A clicks process renews every 100 ms for 300 ms; a web process looks every 50 ms. */
const PRESENCE = { everyMs: 100, ttlMs: 300, lookEveryMs: 50 };

let fake: FakeSlack;
const connections: Redis[] = [];
let web: App;
let slack: SlackRequester;
const webLines: Record<string, unknown>[] = [];
/** Which process did each click: `${process} ${user}`. */
const done: string[] = [];

async function botSide(name: string, lines?: Record<string, unknown>[]): Promise<SlackApp> {
  const sink = { write: (line: string) => lines?.push(JSON.parse(line)) };
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  connections.push(redis);
  const side = await createSlackApp({
    token: "xoxb-clicks-role",
    signingSecret: SECRET,
    slackApiUrl: fake.url,
    logger: createLogger("info", sink as unknown as NodeJS.WritableStream),
    health: async () => true,
    edge: { redis, prefix: PREFIX, clicks: { presence: PRESENCE } },
  });
  side.app.action<BlockAction>("work", async ({ body }) => {
    done.push(`${name} ${body.user.id}`);
  });
  return side;
}

async function click(userId: string) {
  const res = await slack.blockAction({ ...CARD, userId, actionId: "work" });
  expect(res.status).toBe(200);
}

/** Clicks as `users`, and waits until each is done (by anyone). */
async function clickAll(users: string[]) {
  await Promise.all(users.map(click));
  return eventually(async () => {
    const by = done.filter((line) => users.includes(line.split(" ")[1] ?? ""));
    return by.length >= users.length ? by : null;
  });
}

const said = (msg: string) => webLines.filter((line) => line.msg === msg).length;
const LEAVES = "a clicks process is running: this web process leaves click work to it";
const DOES = "no clicks process is running: this web process does its clicks";

beforeAll(async () => {
  fake = await startFakeSlack({ channels: [{ id: "C0OPS", name: "ops" }] });
  ({ app: web } = await botSide("web", webLines));
  slack = await listenForSlack(web, SECRET, fake);
});
afterAll(async () => {
  await web?.stop();
  await fake?.close();
  const [redis] = connections;
  if (redis) await clearPrefix(redis, PREFIX);
  await Promise.all(connections.map((redis) => redis.quit()));
});

describe("who does a click's work", () => {
  it("a web process alone does its clicks itself", async () => {
    expect(said(DOES)).toBe(1);
    expect(await clickAll(["U0SOLO1", "U0SOLO2"])).toEqual(["web U0SOLO1", "web U0SOLO2"]);
  });

  it("with a clicks process running, only the clicks process does them; once it stops, the web process again", async () => {
    const clicks = await botSide("clicks");
    await clicks.receiver?.startClickWork();
    await eventually(async () => said(LEAVES) === 1, 2000, "the web process standing by");

    const burst = Array.from({ length: 12 }, (_, i) => `U0SPLIT${i}`);
    const by = await clickAll(burst);
    expect(by.sort()).toEqual(burst.map((user) => `clicks ${user}`).sort());

    // A clean stop withdraws its presence: the web process takes over at its next look.
    const stoppedAt = Date.now();
    await clicks.receiver?.stop();
    await eventually(async () => said(DOES) === 2, 2000, "the web process doing clicks again");
    expect(Date.now() - stoppedAt).toBeLessThan(PRESENCE.ttlMs);
    expect(await clickAll(["U0AFTER"])).toEqual(["web U0AFTER"]);
    // Each click was done once, by one process.
    expect(done).toHaveLength(2 + burst.length + 1);
  });
});

describe("the clicks role", () => {
  it("refuses to start in Socket Mode, where clicks reach the web process over its socket", async () => {
    const env = loadEnv({
      SLACK_BOT_TOKEN: "xoxb-clicks-role",
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_APP_TOKEN: "xapp-1-clicks-role",
      // Nothing is reached: the refusal comes before any connection.
      DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
      REDIS_URL: "redis://127.0.0.1:1",
    });
    await expect(startSyncdesk(env, { roles: ["clicks"] })).rejects.toThrow(
      /clicks role is for HTTP mode/,
    );
  });
});
