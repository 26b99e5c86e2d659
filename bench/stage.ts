/**
 * The stage a bench runs the bot on: its own database (created by the bot on start), its own
 * Redis key prefix and a Slack stand-in; `close()` removes all three.
 */
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { Redis } from "ioredis";
import postgres from "postgres";
import { type FakeSlack, standInBotToken, startFakeSlack } from "../dev/slack/fake-slack.js";
import { clearPrefix } from "../src/platform/queue/redis.js";

export const ADMIN_URL =
  process.env.BENCH_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

export interface Stage {
  id: string;
  databaseUrl: string;
  prefix: string;
  redis: Redis;
  fake: FakeSlack;
  /** The load average when the stage was set, as "1m 5m 15m". */
  load: string;
  close(): Promise<void>;
}

export async function openStage(): Promise<Stage> {
  const id = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const database = `syncdesk_bench_${id}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  const prefix = `bench-${id}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const fake = await startFakeSlack({});
  return {
    id,
    databaseUrl: url.toString(),
    prefix,
    redis,
    fake,
    load: loadavg()
      .map((n) => n.toFixed(2))
      .join(" "),
    async close() {
      await clearPrefix(redis, prefix);
      await redis.quit();
      await fake.close();
      await dropDatabase(database);
    },
  };
}

/** Drops a bench's database, again for a few seconds while the bot's last connections go. */
export async function dropDatabase(database: string): Promise<void> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.unsafe(`drop database if exists "${database}" with (force)`);
        return;
      } catch (error) {
        if (attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  } finally {
    await admin.end();
  }
}

/**
 * The settings every bench gives the bot (stand-in Slack, its own database and prefix, quiet
 * logs unless BENCH_LOG_LEVEL), then the bench's own, then BENCH_BOT_ENV (`KEY=value,KEY=value`).
 */
/** The signing secret botEnv() gives the bot: a bench that signs requests signs with it. */
export const BENCH_SIGNING_SECRET = "bench-signing-secret-0123456789";

export function botEnv(
  at: { slackUrl: string; databaseUrl: string; prefix: string; routingFile: string },
  own: Record<string, string> = {},
): Record<string, string> {
  const extra = Object.fromEntries(
    (process.env.BENCH_BOT_ENV ?? "")
      .split(",")
      .filter(Boolean)
      .map((pair) => pair.split("=") as [string, string]),
  );
  return {
    SLACK_BOT_TOKEN: standInBotToken(),
    SLACK_SIGNING_SECRET: BENCH_SIGNING_SECRET,
    SLACK_API_URL: at.slackUrl,
    PORT: "0",
    DATABASE_URL: at.databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: at.prefix,
    ROUTING_FILE: at.routingFile,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "silent",
    ...own,
    ...extra,
  };
}
