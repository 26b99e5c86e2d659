/**
 * `npm run bench:recon`: two snapshots of BENCH_SKUS (1,000,000) SKUs each, the source of truth
 * (erp.netsuite) and a consumer (storefront.shopify) with 1% of quantities off and 0.1% missing
 * each way (BENCH_DIFF_PERCENT scales the mismatches), sent through the queue contract
 * (`snapshotPublisher`, parts of 10,000) to a worker process started as the Procfile starts it.
 * The consumer completing starts the run, as in production.
 *
 * Prints the load rate (items loaded / s, from the first part sent to both snapshots complete;
 * target >= 200,000 SKUs/s), the compare time (the one comparison statement, target < 3 s), the
 * whole run (compare, evidence, report), the worker's peak RSS (VmHWM, target < 400 MB), and
 * checks the run's counts against what was generated.
 *
 * Settings: BENCH_SKUS, BENCH_DIFF_PERCENT (1), BENCH_CONCURRENCY (SNAPSHOT_CONCURRENCY, 2),
 * BENCH_LOG_LEVEL (silent), BENCH_ADMIN_URL, REDIS_URL.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { sql } from "drizzle-orm";
import { snapshotPublisher } from "../src/platform/contracts/snapshot-part.schema.js";
import { connectDatabase } from "../src/platform/db/db.js";
import { startProcess } from "./bot-shape.js";
import { line } from "./figures.js";
import { botEnv, openStage } from "./stage.js";

const SKUS = Number(process.env.BENCH_SKUS ?? 1_000_000);
const DIFF_PERCENT = Number(process.env.BENCH_DIFF_PERCENT ?? 1);
const CONCURRENCY = process.env.BENCH_CONCURRENCY ?? "4";
const ROUTING = fileURLToPath(new URL("./routing.recon.yml", import.meta.url));
const say = (text = "") => console.log(text);
const mb = (kb: number) => `${Math.round(kb / 1024)} MB`;

/** Every n-th SKU: mismatched (DIFF_PERCENT %), missing in the consumer, unexpected (0.1% each). */
const MISMATCH_EVERY = Math.max(1, Math.round(100 / DIFF_PERCENT));
const MISSING_EVERY = 1000;
const sku = (i: number) => `SKU-${String(i).padStart(8, "0")}`;
const sourceQty = (i: number) => (i * 7919) % 500;
const isMissing = (i: number) => i % MISSING_EVERY === 500;
const isMismatched = (i: number) => !isMissing(i) && i % MISMATCH_EVERY === 3;
const UNEXPECTED = Math.floor(SKUS / MISSING_EVERY);

function* sourceItems() {
  for (let i = 0; i < SKUS; i += 1) yield { sku: sku(i), quantity: sourceQty(i) };
}
function* consumerItems() {
  for (let i = 0; i < SKUS; i += 1) {
    if (isMissing(i)) continue;
    yield { sku: sku(i), quantity: sourceQty(i) + (isMismatched(i) ? 1 + (i % 40) : 0) };
  }
  for (let j = 0; j < UNEXPECTED; j += 1) yield { sku: `EXTRA-${j}`, quantity: 1 + (j % 9) };
}

function expected() {
  let mismatched = 0;
  let missing = 0;
  for (let i = 0; i < SKUS; i += 1) {
    if (isMissing(i)) missing += 1;
    else if (isMismatched(i)) mismatched += 1;
  }
  return { matched: SKUS - mismatched - missing, mismatched, missing, unexpected: UNEXPECTED };
}

/** Peak and current resident set of a process, kB, from /proc (Linux). */
function rssOf(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) =>
    Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { peak: kb("VmHWM"), now: kb("VmRSS") };
}

async function send(
  queue: Queue,
  system: string,
  items: Iterable<{ sku: string; quantity: number }>,
  count: number,
) {
  const publisher = snapshotPublisher(queue, {
    snapshotId: `bench-${system}-${process.pid}`,
    client: "bench",
    system,
    takenAt: "2026-12-04T02:00:00Z",
    itemCount: count,
  });
  for (const item of items) await publisher.add(item);
  return publisher.end();
}

async function main() {
  const stage = await openStage();
  const { prefix, redis, fake, load } = stage;
  const dbUrl = stage.databaseUrl;
  const want = expected();
  say(`bench:recon  (load average at start: ${load}; 2 cores shared with other work)`);
  say(line("SKUs per snapshot", SKUS));
  say(
    line(
      "generated deltas (mismatch / missing / unexpected)",
      `${want.mismatched} / ${want.missing} / ${want.unexpected}`,
    ),
  );
  say(line("snapshot parts loaded at once (worker)", CONCURRENCY));

  const worker = await startProcess(
    ["worker"],
    botEnv(
      { slackUrl: fake.url, databaseUrl: dbUrl, prefix, routingFile: ROUTING },
      {
        SNAPSHOT_CONCURRENCY: CONCURRENCY,
        RECON_CRON: "off",
      },
    ),
  );
  const database_ = connectDatabase(dbUrl, { max: 2 });
  const queue = new Queue("inventory-snapshots", { connection: redis, prefix });
  let peakKb = rssOf(worker.pid).peak;
  const sampler = setInterval(() => {
    try {
      peakKb = Math.max(peakKb, rssOf(worker.pid).peak);
    } catch {}
  }, 200);
  try {
    const started = performance.now();
    const consumerCount = SKUS - want.missing + want.unexpected;
    // Both systems send at once, as two producers would.
    const [sourceParts, consumerParts] = await Promise.all([
      send(queue, "erp.netsuite", sourceItems(), SKUS),
      send(queue, "storefront.shopify", consumerItems(), consumerCount),
    ]);
    const sentSeconds = (performance.now() - started) / 1000;
    for (;;) {
      const [row] = await database_.db.execute<{ n: string; failed: string }>(sql`
        select count(*) filter (where state = 'complete') as n,
               count(*) filter (where state in ('rejected', 'expired')) as failed from snapshots`);
      if (Number(row?.failed) > 0) throw new Error("a snapshot was refused");
      if (Number(row?.n) === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const loadSeconds = (performance.now() - started) / 1000;
    const items = SKUS + consumerCount;
    say();
    say("load (through the queue contract)");
    say(line("parts (source / consumer)", `${sourceParts} / ${consumerParts}`));
    say(line("all parts sent after", `${sentSeconds.toFixed(2)} s`));
    say(line("both snapshots complete after", `${loadSeconds.toFixed(2)} s`));
    say(line("load rate, SKUs/s (target >= 200,000)", (items / loadSeconds).toFixed(0)));

    let run: Record<string, unknown> | undefined;
    for (;;) {
      [run] = await database_.db.execute<Record<string, unknown>>(sql`
        select r.*, extract(epoch from (now() - r.started_at)) as age from recon_runs r
        where outcome = 'compared'`);
      if (run) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const runSeconds = (performance.now() - started) / 1000 - loadSeconds;
    say();
    say("compare (the run the consumer's completion started)");
    say(
      line(
        "compare statement (target < 3 s)",
        `${((run.compare_ms as number) / 1000).toFixed(2)} s`,
      ),
    );
    say(line("run committed after both complete", `${runSeconds.toFixed(2)} s`));
    const got = [run.matched, run.mismatched, run.missing, run.unexpected].map(Number);
    const wanted = [want.matched, want.mismatched, want.missing, want.unexpected];
    say(line("counts (matched/mismatch/missing/unexpected)", got.join(" / ")));
    say(
      line(
        "as generated",
        got.join() === wanted.join() ? "yes" : `NO: expected ${wanted.join(" / ")}`,
      ),
    );
    say(line("sum of |delta|", String(run.abs_delta_sum)));
    await fake.waitForCall(
      "chat.postMessage",
      (call) => JSON.stringify(call.body).includes("Reconciliation #"),
      60_000,
    );
    say(line("report posted", "yes"));
    peakKb = Math.max(peakKb, rssOf(worker.pid).peak);
    say();
    say(line("worker peak RSS, VmHWM (target < 400 MB)", mb(peakKb)));
    say(line("worker RSS now", mb(rssOf(worker.pid).now)));
  } finally {
    clearInterval(sampler);
    await queue.close();
    await worker.stop();
    await database_.close();
    await stage.close();
  }
}

await main();
