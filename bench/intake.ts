/**
 * `npm run bench:intake`: failure intake beside its floor, in one run, on the same events.
 *
 * - The floor: a bare BullMQ worker (concurrency 32) doing one `INSERT … ON CONFLICT` per job
 *   into a table of its own: what this machine, Redis, Postgres and BullMQ cost per event.
 * - The bot: `dist/main.js` with both roles as a child process (`npm start`), Slack played by the
 *   local stand-in with no rate limit, draining the same events from its failure queue.
 *
 * The events: BENCH_EVENTS (12,000) failures over BENCH_FINGERPRINTS (3,000) fingerprints, each
 * repeated (4 events a fingerprint), spread over enough clients that no storm-sized group forms
 * (at most 15 new fingerprints of one kind, the threshold is 20). Both sides get the jobs the
 * same way (addBulk in chunks of 500, right after they are ready) and are timed from the first
 * add to the last event accounted for: in the floor's table, or in the bot's `failure_events`
 * and `rejected_events`. Prints events/s for both, the ratio, and the bot's peak RSS.
 *
 * Settings: BENCH_EVENTS, BENCH_FINGERPRINTS, BENCH_FLOOR_CONCURRENCY (32), BENCH_ADMIN_URL,
 * REDIS_URL, BENCH_LOG_LEVEL (silent), BENCH_CPU_PROF_DIR (a CPU profile of the bot's drain),
 * BENCH_TRIPS=1 (round trips, statements, Redis commands and memory of the bot, counted inside
 * it), BENCH_BOT_BUILT=0 (the bot from src/ through tsx, whose loader adds to the RSS; by default
 * it runs from dist/, which `npm run bench:intake` builds first), and any syncdesk setting passed through BENCH_BOT_ENV
 * as `KEY=value,KEY=value` (e.g. `JOB_CONCURRENCY=32`).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import postgres from "postgres";
import { clearPrefix } from "../src/platform/queue/redis.js";
import { startProcess } from "./bot-shape.js";
import { line } from "./figures.js";
import { costsPerEvent, snapshotCosts } from "./intake-costs.js";
import { startSlackSide } from "./slack-side.client.js";
import { botEnv } from "./stage.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 12_000);
const FINGERPRINTS = Number(process.env.BENCH_FINGERPRINTS ?? 3_000);
const FLOOR_CONCURRENCY = Number(process.env.BENCH_FLOOR_CONCURRENCY ?? 32);
/** New fingerprints of one storm kind (client, target, mode, role): under the threshold of 20. */
const PER_KIND = 15;
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const ROUTING = fileURLToPath(new URL("./routing.bench.yml", import.meta.url));
const CHUNK = 500;
/** When set, a CPU profile of the bot's event loop over the drain is written here. */
const PROFILE_DIR = process.env.BENCH_CPU_PROF_DIR;
/** When set (BENCH_TRIPS=1), the bot's Postgres round trips and Redis commands are counted. */
const TRIPS = Boolean(process.env.BENCH_TRIPS);
/** The bot from dist/, exactly `npm start` (the npm script builds it); BENCH_BOT_BUILT=0: tsx. */
const BUILT = process.env.BENCH_BOT_BUILT !== "0";
const say = (text = "") => console.log(text);

/** The same events for both sides: fingerprint i % FINGERPRINTS, in arrival order. */
function intakeEvents(runId: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const print = i % FINGERPRINTS;
    const kind = Math.floor(print / PER_KIND);
    events.push({
      eventId: `intake-${runId}-${i}`,
      occurredAt: new Date(Date.UTC(2026, 11, 4, 9, 0, 0, i)).toISOString(),
      client: `client-${String(kind).padStart(4, "0")}`,
      sku: `SKU-${String(print).padStart(5, "0")}`,
      sourceSystem: "erp.netsuite",
      targetSystem: "storefront.shopify",
      failureMode: "throttled",
      error: { message: "429 Too Many Requests from the storefront", httpStatus: 429 },
      attempts: 5,
    });
  }
  return events;
}

async function addAll(queue: Queue, events: Record<string, unknown>[], prefix: string) {
  for (let i = 0; i < events.length; i += CHUNK) {
    await queue.addBulk(
      events.slice(i, i + CHUNK).map((data, j) => ({
        name: "sync.failed",
        data,
        opts: { jobId: `${prefix}-${i + j}`, removeOnComplete: true },
      })),
    );
  }
}

async function waitUntil(what: string, probe: () => Promise<boolean>, limitMs = 900_000) {
  const deadline = Date.now() + limitMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function createDatabase(admin: postgres.Sql, name: string): Promise<string> {
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The floor: one INSERT … ON CONFLICT per job, nothing else. */
async function runFloor(
  admin: postgres.Sql,
  redis: Redis,
  id: string,
  events: Record<string, unknown>[],
): Promise<number> {
  const name = `syncdesk_bench_floor_${id}`;
  const sql = postgres(await createDatabase(admin, name), {
    max: 10,
    onnotice: () => {},
  });
  const prefix = `bench-floor-${id}`;
  const queue = new Queue("inventory-sync-failures", { connection: redis, prefix });
  try {
    await sql`create table floor_events (
      event_id text primary key, fingerprint text not null, payload jsonb not null,
      received_at timestamptz not null default now())`;
    const worker = new Worker(
      "inventory-sync-failures",
      async (job) => {
        const data = job.data as { eventId: string; client: string; sku: string };
        await sql`insert into floor_events (event_id, fingerprint, payload)
          values (${data.eventId}, ${`${data.client}/${data.sku}`}, ${sql.json(job.data)})
          on conflict (event_id) do nothing`;
      },
      {
        connection: { ...redisOptions(REDIS_URL) },
        prefix,
        concurrency: FLOOR_CONCURRENCY,
      },
    );
    await worker.waitUntilReady();
    const started = performance.now();
    await addAll(queue, events, "floor");
    await waitUntil("the floor to drain", async () => {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from floor_events`;
      return (row?.n ?? 0) >= events.length;
    });
    const seconds = (performance.now() - started) / 1000;
    await worker.close();
    return events.length / seconds;
  } finally {
    await queue.close();
    await clearPrefix(redis, prefix);
    await sql.end();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  }
}

/** The bot as `npm start` runs it, draining the same events. */
async function runBot(
  admin: postgres.Sql,
  redis: Redis,
  id: string,
  events: Record<string, unknown>[],
) {
  const name = `syncdesk_bench_intake_${id}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const prefix = `bench-intake-${id}`;
  const fake = await startSlackSide();
  const bot = await startProcess(
    ["web", "worker"],
    botEnv({
      slackUrl: fake.url,
      databaseUrl: url.toString(),
      prefix,
      routingFile: ROUTING,
    }),
    { profiles: PROFILE_DIR !== undefined, trips: TRIPS, built: BUILT },
  );
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  const queue = new Queue("inventory-sync-failures", { connection: redis, prefix });
  let peakRssMb = rssMb(bot.pid);
  const sampler = setInterval(() => {
    peakRssMb = Math.max(peakRssMb, rssMb(bot.pid));
  }, 100);
  try {
    const stopProfile = PROFILE_DIR
      ? await bot.profile(`${PROFILE_DIR}/intake-bot-${id}.cpuprofile`)
      : null;
    const stopTrips = TRIPS ? await bot.trips() : null;
    const before = await snapshotCosts(sql, redis, name, bot.pid);
    const started = performance.now();
    await addAll(queue, events, "bot");
    await waitUntil("the bot to account for every event", async () => {
      const [row] = await sql<{ n: number }[]>`
        select (select count(*) from failure_events)::int
             + (select count(*) from rejected_events)::int as n`;
      return (row?.n ?? 0) >= events.length;
    });
    const seconds = (performance.now() - started) / 1000;
    const costs = costsPerEvent(
      before,
      await snapshotCosts(sql, redis, name, bot.pid),
      events.length,
    );
    const trips = stopTrips ? await stopTrips() : null;
    if (stopProfile) {
      await stopProfile();
      say(`CPU profile: ${PROFILE_DIR}/intake-bot-${id}.cpuprofile`);
    }
    const [counts] = await sql<{ exceptions: number; occurrences: number; storms: number }[]>`
      select (select count(*) from exceptions)::int as exceptions,
             (select coalesce(sum(occurrences), 0) from exceptions)::int as occurrences,
             (select count(*) from storms)::int as storms`;
    return { eventsPerSecond: events.length / seconds, peakRssMb, counts, costs, trips, seconds };
  } finally {
    clearInterval(sampler);
    await bot.stop();
    await queue.close();
    await clearPrefix(redis, prefix);
    await sql.end();
    await fake.close();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  }
}

function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    return kb / 1024;
  } catch {
    return 0;
  }
}

function redisOptions(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    maxRetriesPerRequest: null,
  };
}

async function main() {
  const id = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const events = intakeEvents(id);
  say(
    `syncdesk intake bench: ${events.length} failure events, ${FINGERPRINTS} fingerprints, ${cpus().length} cores, load ${loadavg()[0]?.toFixed(1)}`,
  );
  try {
    const floor = await runFloor(admin, redis, id, events);
    say(
      line(
        `floor (bare BullMQ worker, concurrency ${FLOOR_CONCURRENCY})`,
        `${floor.toFixed(0)} events/s`,
      ),
    );
    const bot = await runBot(admin, redis, id, events);
    say(line("syncdesk (npm start, web + worker)", `${bot.eventsPerSecond.toFixed(0)} events/s`));
    say(line("ratio (syncdesk / floor)", (bot.eventsPerSecond / floor).toFixed(2)));
    say(line("syncdesk peak RSS", `${bot.peakRssMb.toFixed(0)} MB`));
    say(
      line(
        "exceptions / occurrences / storms",
        `${bot.counts?.exceptions} / ${bot.counts?.occurrences} / ${bot.counts?.storms}`,
      ),
    );
    const per = (value: number, digits = 3) => value.toFixed(digits);
    say(
      line(
        "per event: bot CPU (loop / process)",
        `${per(bot.costs.botThreadMs)} / ${per(bot.costs.botProcessMs)} ms`,
      ),
    );
    say(
      line(
        "per event: Postgres CPU, Redis CPU (server)",
        `${per(bot.costs.postgresMs)} ms, ${per(bot.costs.redisMs)} ms`,
      ),
    );
    say(
      line(
        "per event: commits, Redis commands (server)",
        `${per(bot.costs.commits)}, ${per(bot.costs.redisCalls, 1)}`,
      ),
    );
    say(
      line(
        "bot event loop busy (loop CPU / wall)",
        `${((bot.costs.botThreadMs * events.length) / (bot.seconds * 10)).toFixed(0)} %`,
      ),
    );
    if (bot.trips) {
      const { pg, redisCommands, top } = bot.trips;
      say(
        line(
          "per event: PG round trips / statements / tx",
          `${per(pg.roundTrips / events.length)} / ${per(pg.statements / events.length)} / ${per(pg.transactions / events.length)}`,
        ),
      );
      say(line("per event: Redis commands (bot)", per(redisCommands / events.length)));
      say(
        line(
          "bot memory, MB (at start -> peak)",
          ["rss", "heapUsed", "heapTotal", "external", "arrayBuffers"]
            .map((k) => `${k} ${bot.trips?.memory[`${k}AtStart`]}->${bot.trips?.memory[k]}`)
            .join(", "),
        ),
      );
      say(
        line(
          "bot memory after a full GC, MB",
          `rss ${bot.trips.memory.rssAfterGc}, heapUsed ${bot.trips.memory.heapUsedAfterGc}`,
        ),
      );
      say("  statements run most (count, text):");
      for (const [text, count] of top) say(`    ${String(count).padStart(7)}  ${text}`);
    }
    say(line("load at the end", loadavg()[0]?.toFixed(1) ?? "?"));
    if (bot.counts?.exceptions !== FINGERPRINTS)
      throw new Error(`expected one exception per fingerprint (${FINGERPRINTS})`);
  } finally {
    await redis.quit();
    await admin.end();
  }
}

await main();
