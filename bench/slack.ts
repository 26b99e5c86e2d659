/**
 * `npm run bench:slack`: the real bot (web + worker) on a fresh database and the real Redis
 * buckets, with Slack played by the local fake and Slack's production limits (~1 post/s per
 * channel, burst 3; chat.update Tier 3). Prints, from the fake's record of calls:
 *  1. pacing: N new cards into one channel (time from first to last post, busiest second),
 *  2. coalescing: K rapid changes on each of C cards -> chat.updates (ratio),
 *  3. Slack calls per event over both,
 *  4. an outage: Slack down for D seconds while events and changes arrive, then back:
 *     time to deliver everything, duplicates.
 * BENCH_CARDS, BENCH_COALESCE_CARDS, BENCH_CHANGES, BENCH_OUTAGE_SEC override the sizes.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import postgres from "postgres";
import { type RecordedCall, standInBotToken, startFakeSlack } from "../dev/slack/fake-slack.js";
import { loadEnv } from "../src/env.js";
import type { FailureEventInput } from "../src/intake/failure-event.schema.js";
import { createLogger } from "../src/platform/logger.js";
import { startSyncdesk } from "../src/syncdesk.js";

const CARDS = Number(process.env.BENCH_CARDS ?? 20);
const COALESCE_CARDS = Number(process.env.BENCH_COALESCE_CARDS ?? 5);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 20);
const OUTAGE_SEC = Number(process.env.BENCH_OUTAGE_SEC ?? 20);
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const ROUTING = fileURLToPath(new URL("../test/fixtures/routing.test.yml", import.meta.url));
const CHANNEL = "C0FULFILL";
const say = (text = "") => console.log(text);
const row = (label: string, value: string | number) => say(`  ${label.padEnd(46)} ${value}`);

async function waitFor(what: string, probe: () => Promise<boolean>, limitMs: number) {
  const deadline = Date.now() + limitMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function event(sku: string, overrides: Partial<FailureEventInput> = {}): FailureEventInput {
  return {
    eventId: `evt-${randomUUID()}`,
    occurredAt: new Date().toISOString(),
    client: "globex",
    sku,
    sourceSystem: "erp.netsuite",
    targetSystem: "storefront.shopify",
    failureMode: "partial_write",
    error: { message: "Shopify accepted 40 of 41 variants", code: "PARTIAL", httpStatus: 207 },
    attempts: 5,
    ...overrides,
  };
}

/** Most calls that fell in any one-second window. */
function busiestSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while ((sorted[j] as number) - (sorted[i] as number) >= 1000) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

async function main() {
  const id = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const database = `syncdesk_bench_${id}`;
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${database}`;
  const prefix = `bench-${id}`;
  const fake = await startFakeSlack();
  const env = loadEnv({
    SLACK_BOT_TOKEN: standInBotToken(),
    SLACK_SIGNING_SECRET: "bench-signing-secret-0123456789",
    SLACK_API_URL: fake.url,
    PORT: "0",
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    ROUTING_FILE: ROUTING,
    LOG_LEVEL: "silent",
    STORM_THRESHOLD: "100000",
  });
  const bot = await startSyncdesk(env, {
    roles: ["web", "worker"],
    logger: createLogger("silent"),
  });
  const db = bot.deps.db;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const failures = new Queue(env.FAILURE_QUEUE, { connection: redis, prefix });
  const report = (data: FailureEventInput) => failures.add("sync.failed", data);
  const openOutbox = async () => {
    const [found] = await db.execute<{ n: number }>(
      sql`select count(*)::int as n from slack_outbox where state in ('pending', 'sending')`,
    );
    return found?.n ?? 0;
  };
  const calls = (from: number, method?: string): RecordedCall[] =>
    fake.calls.slice(from).filter((c) => !method || c.method === method);

  try {
    say("syncdesk Slack outbound bench (production limits, fake Slack, real Redis/Postgres)");

    // ---- 1. pacing ----
    let mark = fake.calls.length;
    for (let i = 0; i < CARDS; i++) await report(event(`SKU-PACE-${i}`));
    await waitFor(
      "cards",
      async () => (await openOutbox()) === 0 && calls(mark, "chat.postMessage").length >= CARDS,
      120_000,
    );
    const posts = calls(mark, "chat.postMessage").map((c) => c.at.getTime());
    const span = (Math.max(...posts) - Math.min(...posts)) / 1000;
    say(`\n1. ${CARDS} new cards into one channel`);
    row(
      "first to last post",
      `${span.toFixed(2)} s (about ${CARDS - 3} s at 1/s after a burst of 3)`,
    );
    row("busiest one-second window", `${busiestSecond(posts)} posts`);
    row("Slack calls", calls(mark).length);

    // ---- 2. coalescing ----
    mark = fake.calls.length;
    const skus = Array.from({ length: COALESCE_CARDS }, (_, i) => `SKU-COALESCE-${i}`);
    const firsts = skus.map((sku) => event(sku, { client: "acme" }));
    for (const first of firsts) await report(first);
    await waitFor(
      "coalesce cards",
      async () =>
        (await openOutbox()) === 0 && calls(mark, "chat.postMessage").length >= COALESCE_CARDS,
      60_000,
    );
    const updatesFrom = fake.calls.length;
    const started = Date.now();
    for (let k = 0; k < CHANGES; k++) {
      for (const first of firsts) await report({ ...first, eventId: `evt-${randomUUID()}` });
    }
    await waitFor(
      "coalesced updates",
      async () => {
        const [done] = await db.execute<{ n: number }>(
          sql`select count(*)::int as n from exceptions where sku like 'SKU-COALESCE-%' and occurrences = ${CHANGES + 1}`,
        );
        return done?.n === COALESCE_CARDS && (await openOutbox()) === 0;
      },
      120_000,
    );
    const updates = calls(updatesFrom, "chat.update");
    const changes = COALESCE_CARDS * CHANGES;
    say(`\n2. ${CHANGES} rapid changes on each of ${COALESCE_CARDS} cards (${changes} changes)`);
    row(
      "until every card showed its last change",
      `${((Date.now() - started) / 1000).toFixed(2)} s`,
    );
    row("chat.update calls", updates.length);
    row("coalescing ratio (changes per update)", (changes / updates.length).toFixed(1));
    row("Slack calls", calls(mark).length);
    const events = CARDS + COALESCE_CARDS + changes;
    say(`\n3. Slack calls per event over 1 and 2`);
    row(`events`, events);
    row("Slack calls per event", (fake.calls.length / events).toFixed(3));
    row("Slack calls per 1,000 events", Math.round((fake.calls.length / events) * 1000));

    // ---- 4. outage ----
    mark = fake.calls.length;
    fake.setDown(true);
    const downAt = Date.now();
    for (let i = 0; i < 10; i++) await report(event(`SKU-OUTAGE-${i}`, { client: "initech" }));
    for (const first of firsts) await report({ ...first, eventId: `evt-${randomUUID()}` });
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_SEC * 1000));
    const waiting = await openOutbox();
    fake.setDown(false);
    const upAt = Date.now();
    await waitFor("delivery after the outage", async () => (await openOutbox()) === 0, 300_000);
    const cards = fake
      .messages(CHANNEL)
      .filter((m) => (m.metadata as { event_type?: string })?.event_type === "syncdesk_exception");
    const ids = cards.map(
      (m) => (m.metadata as { event_payload: { exception_id: number } }).event_payload.exception_id,
    );
    say(
      `\n4. Slack down for ${OUTAGE_SEC} s while 10 new failures and ${COALESCE_CARDS} repeats arrive`,
    );
    row("outbox rows waiting when Slack returned", waiting);
    row("all delivered after Slack returned", `${((Date.now() - upAt) / 1000).toFixed(2)} s`);
    row("outage length", `${((upAt - downAt) / 1000).toFixed(1)} s`);
    row("cards in the channel / distinct exceptions", `${cards.length} / ${new Set(ids).size}`);
    row("Slack calls after Slack returned", calls(mark).length);
    row(
      "calls and waits counted (this process)",
      `${bot.slackStats.calls()} calls, ${bot.slackStats.waits().count} waits, ${(bot.slackStats.waits().ms / 1000).toFixed(1)} s waited`,
    );
  } finally {
    await failures.close();
    await bot.stop();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await fake.close();
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
    await admin.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
