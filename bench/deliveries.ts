/**
 * `npm run bench:deliveries`: delivery throughput of the real bot beside a floor, in one run,
 * on the same Redis with the same job count:
 * - floor: a bare BullMQ worker (same concurrency) whose processor does nothing;
 * - one delivery per job (`sync.succeeded`), through the bot's outcome worker (target: at
 *   least half the floor's jobs/s);
 * - `sync.batch` jobs of 1,000 deliveries (target: at least 20,000 deliveries/s).
 * Every delivery has its own eventId, a triggeredAt and one of three pipelines. Prints jobs/s,
 * deliveries/s, the ratio to the floor, the process RSS, and checks the figures count every
 * delivery exactly once (waiting for the flushes of the delivery WAL: a job completes once its
 * records are staged, before they are counted).
 *
 * Settings: BENCH_JOBS (20000), BENCH_BATCHES (100), BENCH_CONCURRENCY (the bot's
 * OUTCOME_CONCURRENCY, 500), BENCH_FLUSH_MS (1000), BENCH_STAGE_MS (the bot's
 * DELIVERY_STAGE_MS), BENCH_LOG_LEVEL (silent), BENCH_ADMIN_URL, REDIS_URL.
 */
import { fileURLToPath } from "node:url";
import { Queue, Worker } from "bullmq";
import { sql } from "drizzle-orm";
import { startBot } from "./bot-shape.js";
import { line } from "./figures.js";
import { botEnv, openStage, REDIS_URL } from "./stage.js";

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 100);
const BATCH_SIZE = 1000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 500);
const FLUSH_MS = Number(process.env.BENCH_FLUSH_MS ?? 1000);
const ROUTING = fileURLToPath(new URL("./routing.deliveries.yml", import.meta.url));
const say = (text = "") => console.log(text);
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

const KINDS = [
  { client: "acme", sourceSystem: "erp.netsuite", targetSystem: "storefront.shopify" },
  { client: "globex", sourceSystem: "erp.sap", targetSystem: "ads.google" },
  { client: "initech", sourceSystem: "wms.shipbob", targetSystem: "crm.hubspot" },
];

let serial = 0;
function delivery(run: string) {
  serial += 1;
  const kind = KINDS[serial % KINDS.length] as (typeof KINDS)[number];
  const now = Date.now();
  return {
    kind: "sync.succeeded",
    eventId: `${run}-${serial}`,
    ...kind,
    sku: `SKU-${serial % 5000}`,
    triggeredAt: new Date(now - 200 - (serial % 5000)).toISOString(),
    occurredAt: new Date(now).toISOString(),
    quantity: serial % 100,
  };
}

/** Adds the jobs in bulk and waits until all of them completed; returns seconds taken. */
async function run(queue: Queue, jobs: { name: string; data: object }[]): Promise<number> {
  const started = performance.now();
  for (let at = 0; at < jobs.length; at += 1000) {
    await queue.addBulk(jobs.slice(at, at + 1000));
  }
  for (;;) {
    const counts = await queue.getJobCounts("completed", "failed");
    if ((counts.completed ?? 0) + (counts.failed ?? 0) >= jobs.length) {
      if (counts.failed) throw new Error(`${counts.failed} jobs failed`);
      return (performance.now() - started) / 1000;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main() {
  const stage = await openStage();
  const { id, prefix, redis, fake, load } = stage;
  const dbUrl = stage.databaseUrl;
  say(`bench:deliveries  (load average at start: ${load})`);
  say(line("jobs (one delivery each)", JOBS));
  say(line("batches (1,000 deliveries each)", BATCHES));
  say(line("worker concurrency (floor and bot)", CONCURRENCY));
  say(line("flush interval", `${FLUSH_MS} ms`));

  try {
    // 1. The floor: a bare worker on the same Redis that does nothing per job.
    const floorQueue = new Queue("floor", { connection: redis, prefix });
    const floorWorker = new Worker("floor", async () => {}, {
      connection: { url: REDIS_URL, maxRetriesPerRequest: null } as never,
      prefix,
      concurrency: CONCURRENCY,
    });
    await floorWorker.waitUntilReady();
    const floorRun = `floor-${id}`;
    const floorSeconds = await run(
      floorQueue,
      Array.from({ length: JOBS }, () => ({ name: "sync.succeeded", data: delivery(floorRun) })),
    );
    await floorWorker.close();
    await floorQueue.close();
    const floorRate = JOBS / floorSeconds;
    say();
    say("floor (bare BullMQ worker)");
    say(line("jobs/s", floorRate.toFixed(0)));

    // 2. The bot, one process (web + worker), on a fresh database.
    const bot = await startBot(
      "single",
      botEnv(
        { slackUrl: fake.url, databaseUrl: dbUrl, prefix, routingFile: ROUTING },
        {
          DELIVERY_FLUSH_MS: String(FLUSH_MS),
          OUTCOME_CONCURRENCY: String(CONCURRENCY),
          ...(process.env.BENCH_STAGE_MS ? { DELIVERY_STAGE_MS: process.env.BENCH_STAGE_MS } : {}),
        },
      ),
    );
    const outcomes = new Queue(bot.env.OUTCOME_QUEUE, { connection: redis, prefix });
    try {
      const singleRun = `single-${id}`;
      const singleSeconds = await run(
        outcomes,
        Array.from({ length: JOBS }, () => ({ name: "sync.succeeded", data: delivery(singleRun) })),
      );
      const singleRate = JOBS / singleSeconds;
      say();
      say("one delivery per job (sync.succeeded)");
      say(line("jobs/s", singleRate.toFixed(0)));
      say(line("ratio to floor (target >= 0.5)", (singleRate / floorRate).toFixed(2)));
      say(line("RSS", mb(process.memoryUsage().rss)));

      await outcomes.obliterate({ force: true });
      const batchRun = `batch-${id}`;
      const batchSeconds = await run(
        outcomes,
        Array.from({ length: BATCHES }, () => ({
          name: "sync.batch",
          data: {
            kind: "sync.batch",
            events: Array.from({ length: BATCH_SIZE }, () => delivery(batchRun)),
          },
        })),
      );
      const deliveries = BATCHES * BATCH_SIZE;
      say();
      say("sync.batch (1,000 deliveries per job)");
      say(line("jobs/s", (BATCHES / batchSeconds).toFixed(1)));
      say(line("deliveries/s (target >= 20,000)", (deliveries / batchSeconds).toFixed(0)));
      say(line("RSS", mb(process.memoryUsage().rss)));

      // Jobs complete once staged in the delivery WAL; the figures follow within a flush or two.
      const expected = JOBS + deliveries;
      const waitFrom = performance.now();
      let counted: { deliveries: string; minutes: string } | undefined;
      for (;;) {
        [counted] = await bot.db.execute<{ deliveries: string; minutes: string }>(sql`
          select sum(deliveries) as deliveries, count(*) as minutes from delivery_minutes`);
        if (Number(counted?.deliveries ?? 0) >= expected) break;
        if (performance.now() - waitFrom > 30_000) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      say();
      say(
        line(
          "figures caught up after the last job",
          `${Math.round(performance.now() - waitFrom)} ms`,
        ),
      );
      say(line("deliveries counted (expected)", `${counted?.deliveries} (${expected})`));
      say(line("minute rows written", counted?.minutes ?? "0"));
    } finally {
      await outcomes.close();
      await bot.stop();
    }
  } finally {
    await stage.close();
  }
}

await main();
