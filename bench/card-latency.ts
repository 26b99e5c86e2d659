/**
 * `npm run bench:card-latency`: failure event to card, warm, one event at a time. The bot as
 * `npm start` runs it (web + worker, a child process), Slack played by the local stand-in with
 * no rate limit. After BENCH_WARMUP events (20) it sends BENCH_EVENTS (100) new failures one
 * after the other, each once the card of the one before was posted, and times each from the
 * producer's `add` to the `chat.postMessage` of its card arriving at Slack's side (one clock:
 * the stand-in runs in a thread of this process). Prints p50, p95, p99 and max. Target: p95
 * under 100 ms (issue 14: batching must not hold a lone event back).
 *
 * The events take turns over the bench routing's three channels, and each channel gets at most
 * one a second: the bot paces chat.postMessage per channel as Slack does (about one a second,
 * bursts of 3), so faster events would time that pacing, not intake.
 *
 * BENCH_DELIVERIES_PER_SEC (0) keeps that many deliveries a second flowing meanwhile, as
 * `sync.batch` jobs of 1,000 on the outcomes queue (issue 12: a card stays under 100 ms while
 * 5,000 deliveries a second flow).
 *
 * Settings: BENCH_EVENTS, BENCH_WARMUP, BENCH_DELIVERIES_PER_SEC, BENCH_ADMIN_URL, REDIS_URL,
 * BENCH_LOG_LEVEL (silent), and syncdesk settings through BENCH_BOT_ENV as `KEY=value,…`.
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import postgres from "postgres";
import { clearPrefix } from "../src/platform/queue/redis.js";
import { startProcess } from "./bot-shape.js";
import { startDeliveryFlow } from "./delivery-flow.js";
import { line } from "./figures.js";
import { startSlackSide } from "./slack-side.client.js";
import { botEnv } from "./stage.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20);
const DELIVERIES_PER_SEC = Number(process.env.BENCH_DELIVERIES_PER_SEC ?? 0);
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const ROUTING = fileURLToPath(new URL("./routing.bench.yml", import.meta.url));
const say = (text = "") => console.log(text);
const TARGETS = ["storefront.shopify", "ads.google", "wms.manhattan"];
/** At most one card a second in each channel (the bot's pacing of chat.postMessage). */
const CHANNEL_GAP_MS = 1100;

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function event(runId: string, i: number): Record<string, unknown> {
  return {
    eventId: `latency-${runId}-${i}`,
    occurredAt: new Date().toISOString(),
    // A client each: no storm forms, every event opens an exception and posts a card.
    client: `latency-client-${i}`,
    sku: `LAT-${runId}-${i}`,
    sourceSystem: "erp.netsuite",
    // One of routing.bench.yml's three roles, each with a channel of its own.
    targetSystem: TARGETS[i % TARGETS.length],
    failureMode: "throttled",
    error: { message: "429 Too Many Requests from the storefront", httpStatus: 429 },
    attempts: 5,
  };
}

async function main() {
  const id = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const name = `syncdesk_bench_latency_${id}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const prefix = `bench-latency-${id}`;
  const fake = await startSlackSide();
  say(
    `syncdesk card latency bench: ${EVENTS} events one at a time after ${WARMUP} warm-up, ${cpus().length} cores, load ${loadavg()[0]?.toFixed(1)}`,
  );
  const bot = await startProcess(
    ["web", "worker"],
    botEnv({
      slackUrl: fake.url,
      databaseUrl: url.toString(),
      prefix,
      routingFile: ROUTING,
    }),
  );
  const queue = new Queue("inventory-sync-failures", { connection: redis, prefix });
  const outcomes = new Queue("inventory-sync-outcomes", { connection: redis, prefix });
  /** Batches of 1,000 deliveries, paced to DELIVERIES_PER_SEC, until the timing is done. */
  const flow = startDeliveryFlow(outcomes, DELIVERIES_PER_SEC, id);
  let seen = 0;
  /** Milliseconds from the add to the card's post arriving at Slack's side. */
  const cardOf = async (data: Record<string, unknown>): Promise<number> => {
    const sku = String(data.sku);
    const sent = Date.now();
    await queue.add("sync.failed", data, { jobId: String(data.eventId), removeOnComplete: true });
    const deadline = sent + 30_000;
    for (;;) {
      const calls = await fake.calls(seen);
      seen += calls.length;
      const post = calls.find(
        (call) =>
          call.method === "chat.postMessage" &&
          String((call.body as { text?: unknown }).text).includes(sku),
      );
      if (post) return new Date(post.at).getTime() - sent;
      if (Date.now() > deadline) throw new Error(`no card for ${sku} within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  const lastSent = new Map<number, number>();
  const paced = async (i: number) => {
    const channel = i % TARGETS.length;
    const wait = (lastSent.get(channel) ?? 0) + CHANNEL_GAP_MS - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    lastSent.set(channel, Date.now());
    return cardOf(event(id, i));
  };
  try {
    for (let i = 0; i < WARMUP; i++) await paced(i);
    const samples: number[] = [];
    for (let i = 0; i < EVENTS; i++) samples.push(await paced(WARMUP + i));
    const ms = (value: number) => `${value.toFixed(0)} ms`;
    say(line("failure event to card p50", ms(percentile(samples, 50))));
    say(line("failure event to card p95 (target < 100 ms)", ms(percentile(samples, 95))));
    say(line("failure event to card p99", ms(percentile(samples, 99))));
    say(line("failure event to card max", ms(Math.max(...samples))));
    if (DELIVERIES_PER_SEC > 0) {
      const rate = await flow.stop();
      say(line("deliveries sent meanwhile, per second", rate.toFixed(0)));
    }
    say(line("load at the end", loadavg()[0]?.toFixed(1) ?? "?"));
  } finally {
    await flow.stop();
    await bot.stop();
    await queue.close();
    await outcomes.close();
    await clearPrefix(redis, prefix);
    await fake.close();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await redis.quit();
    await admin.end();
  }
}

await main();
