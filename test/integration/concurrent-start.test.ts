/**
 * Any number of processes may start at once on a fresh database (a Procfile runner starts web
 * and workers together): none dies creating the database or migrating it, and a process whose
 * database exists never needs the maintenance database.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { startFakeSlack } from "../../dev/slack/fake-slack.js";
import { loadEnv } from "../../src/env.js";
import { ensureDatabase } from "../../src/platform/db/ensure.js";
import { createLogger } from "../../src/platform/logger.js";
import { clearPrefix } from "../../src/platform/queue/redis.js";
import { type Syncdesk, startSyncdesk } from "../../src/syncdesk.js";
import { FAST_OUTBOX, FAST_SLACK_LIMITS } from "../support/fast-slack.js";
import { failureEvent, ROUTING_FIXTURE, SIGNING_SECRET } from "../support/harness.js";

const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
/** Nothing listens here: a maintenance database that cannot be reached. */
const UNREACHABLE_MAINTENANCE = "postgres://postgres@127.0.0.1:1/postgres";

const databases: string[] = [];
const fresh = () => {
  const name = `syncdesk_test_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  databases.push(name);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
};

afterAll(async () => {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  for (const name of databases)
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
});

describe("starting many processes at once", () => {
  it("web, a worker and a second worker on a fresh database all come up and serve", async () => {
    const databaseUrl = fresh();
    const prefix = `test-${randomUUID().slice(0, 8)}`;
    const fake = await startFakeSlack({ usergroups: { S0FULFILL: ["U0DAVE"] } });
    const env = loadEnv({
      SLACK_BOT_TOKEN: "xoxb-test-token",
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.url,
      PORT: "0",
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      ROUTING_FILE: ROUTING_FIXTURE,
      LOG_LEVEL: "silent",
    });
    const start = (roles: ("web" | "worker")[]) =>
      startSyncdesk(env, {
        roles,
        slackRetries: 0,
        slackLimits: FAST_SLACK_LIMITS,
        slackOutbox: FAST_OUTBOX,
        logger: createLogger("silent"),
      });
    const results = await Promise.allSettled([
      start(["web"]),
      start(["worker"]),
      start(["worker"]),
    ]);
    const bots = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    try {
      expect(results.map((r) => (r.status === "rejected" ? String(r.reason) : "up"))).toEqual([
        "up",
        "up",
        "up",
      ]);
      const [web] = bots as [Syncdesk, ...Syncdesk[]];
      const health = await fetch(`http://127.0.0.1:${web.port}/healthz`);
      expect(health.status).toBe(200);
      // The workers take events: one failure in, its card out.
      await web.deps.queues.failures.add("sync.failed", failureEvent({ sku: "RACE-1" }));
      await fake.waitForCall(
        "chat.postMessage",
        (call) => JSON.stringify(call.body).includes("RACE-1"),
        15_000,
      );
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      const [versions] = await sql<
        { n: number }[]
      >`select count(*)::int as n from routing_versions`;
      await sql.end();
      expect(versions?.n).toBe(1);
    } finally {
      for (const bot of bots) await bot.stop();
      await clearPrefix(redis, prefix);
      await redis.quit();
      await fake.close();
    }
  });

  it("creates a missing database exactly once however many ask together", async () => {
    const url = fresh();
    const results = await Promise.all(Array.from({ length: 6 }, () => ensureDatabase(url)));
    expect(results.filter((r) => r === "created")).toHaveLength(1);
    expect(results.filter((r) => r !== "created")).toEqual(Array(5).fill("created-elsewhere"));
  });

  it("never needs the maintenance database when the target exists", async () => {
    const url = fresh();
    await ensureDatabase(url);
    await expect(ensureDatabase(url, { maintenanceUrl: UNREACHABLE_MAINTENANCE })).resolves.toBe(
      "exists",
    );
    // Whereas a missing database does need it, and says so.
    await expect(
      ensureDatabase(fresh(), { maintenanceUrl: UNREACHABLE_MAINTENANCE }),
    ).rejects.toThrow();
  });
});
