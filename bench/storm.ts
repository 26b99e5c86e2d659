/**
 * `npm run bench:storm`: the real bot on a fresh database, with Slack played by the local fake.
 * A 10,000-event storm across three clients, then 200 concurrent signed button clicks (all at
 * once, then spread over 2 s), then one Resolve all. Prints: events accounted for, cards
 * posted, Slack calls per 1,000 events, click acknowledgement latency, the CPU the bot's event
 * loop(s) spent per click and waited for a CPU, how late the web's event loop ran, and intake
 * throughput.
 *
 * Settings (environment):
 * - BENCH_SHAPE=single (default): web and worker roles in this process, as `npm start` runs.
 *   BENCH_SHAPE=split: the Procfile's shape, `node dist/main.js worker`, `… clicks` and `… web`
 *   as child processes (the README's recommended deployment; `npm run bench:storm` builds dist/
 *   first; BENCH_BOT_BUILT=0 runs them from src/ through tsx instead).
 * - BENCH_CLICKS_PROCESS (1): split, a third process, `… clicks`, does the clicks' work, as
 *   the Procfile runs it; 0: the web process does it (the two-line Procfile).
 * - BENCH_SESSIONS (own): each split role leads a session of its own, as separate services (a
 *   dyno, a unit) are scheduled apart from each other on Linux; `shared`: both in the bench's
 *   session, as one terminal or foreman runs them.
 * - BENCH_EVENTS (10000), BENCH_CLICKS (200), BENCH_SPREAD_MS (2000): the load.
 * - BENCH_CLICKS_DURING (1): the click rounds run while a second storm of BENCH_EVENTS is being
 *   taken in (the first gives them their cards); 0: once the first storm is in and all is quiet.
 * - BENCH_WARMUP_CLICKS (200): refused clicks (an outsider's Claim storm) sent before the
 *   measured rounds, so neither shape is measured on code the JIT has not seen; 0 for none.
 * - BENCH_RESOLVE_LIMIT_MS (300000): how long to wait for Resolve all; a small value ends the
 *   bench soon after the clicks.
 * - BENCH_PROFILE_DIR: write a CPU profile of the web side's event loop during each click round
 *   there (`<shape>-burst.cpuprofile`, `<shape>-spread.cpuprofile`); summarise one with
 *   `npx tsx bench/profile-summary.ts <file>`.
 * - BENCH_TRIPS=1 (split): the web process's Postgres round trips, statements and Redis commands
 *   per click, and its most run statements, in each click round.
 * - BENCH_DELIVERIES_PER_SEC (0): keep that many deliveries a second flowing (`sync.batch` jobs
 *   of 1,000) through the warm-up and both click rounds (issue 12: acks stay under 100 ms while
 *   5,000 deliveries a second flow).
 * - BENCH_CLICKER_PRIORITY: Slack's side runs real-time where the machine allows (root or
 *   CAP_SYS_NICE), so a clicker waiting for a CPU is not counted as the bot's latency; `normal`
 *   keeps it at the bot's priority. The bench prints which it got.
 * - BENCH_LOG_LEVEL (silent), BENCH_STORM_THRESHOLD, BENCH_ADMIN_URL, REDIS_URL, and syncdesk
 *   settings through BENCH_BOT_ENV as `KEY=value,…` (e.g. `INTAKE_CONCURRENCY=64`).
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { eq, sql } from "drizzle-orm";
import { Redis } from "ioredis";
import type { RecordedCall } from "../dev/slack/fake-slack.js";
import { slackRequester } from "../dev/slack/signing.js";
import { ACTIONS } from "../src/exceptions/card.js";
import { exceptions, storms } from "../src/platform/db/schema.js";
import { clearPrefix } from "../src/platform/queue/redis.js";
import { STORM_ACTIONS } from "../src/storms/storm-card.js";
import { STORM_RESOLVE_CALLBACK } from "../src/storms/storms.slack.js";
import { type Shape, startBot } from "./bot-shape.js";
import {
  BARE_SERVER,
  clickRound,
  floorLatencies,
  printRound,
  recordingServer,
} from "./click-round.js";
import { type DeliveryFlow, startDeliveryFlow } from "./delivery-flow.js";
import { countBy, line, ms, percentile } from "./figures.js";
import { startSlackSide } from "./slack-side.client.js";
import { ADMIN_URL, BENCH_SIGNING_SECRET, botEnv, dropDatabase, REDIS_URL } from "./stage.js";
import { type Click, planClicks, stormEvents } from "./storm-plan.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const CLICKS = Number(process.env.BENCH_CLICKS ?? 200);
/** The second round of clicks arrives spread over this long instead of all at once. */
const SPREAD_MS = Number(process.env.BENCH_SPREAD_MS ?? 2000);
const SHAPE = (process.env.BENCH_SHAPE ?? "single") as Shape;
/** Split roles run from dist/ as the Procfile runs them; BENCH_BOT_BUILT=0: from src/ (tsx). */
const BUILT = process.env.BENCH_BOT_BUILT !== "0";
/** Split roles as separate services (own, default) or as processes of the bench's session. */
const SESSIONS = process.env.BENCH_SESSIONS ?? "own";
/** Split: the clicks' work in a `clicks` process (default), or in the web (0). */
const CLICKS_PROCESS = process.env.BENCH_CLICKS_PROCESS !== "0";
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
/** BENCH_TRIPS=1 (split): the web's Postgres round trips and Redis commands per click. */
const TRIPS = SHAPE === "split" && Boolean(process.env.BENCH_TRIPS);
const WARMUP = Number(process.env.BENCH_WARMUP_CLICKS ?? 200);
const DELIVERIES_PER_SEC = Number(process.env.BENCH_DELIVERIES_PER_SEC ?? 0);
/** Clicks during a second storm's intake (default); BENCH_CLICKS_DURING=0: once all is quiet. */
const DURING = process.env.BENCH_CLICKS_DURING !== "0";
const SECRET = BENCH_SIGNING_SECRET;
const ROUTING = fileURLToPath(new URL("./routing.bench.yml", import.meta.url));
const say = (text = "") => console.log(text);

async function waitFor<T>(what: string, probe: () => Promise<T | null>, limitMs: number) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main() {
  const loadAtStart = loadavg()[0]?.toFixed(1);
  const id = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const database = `syncdesk_bench_${id}`;
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${database}`;
  const prefix = `bench-${id}`;
  // Slack (the fake Web API, and the people clicking) runs in threads of its own.
  const fake = await startSlackSide();
  if (SHAPE !== "single" && SHAPE !== "split") throw new Error("BENCH_SHAPE is single or split");
  if (SESSIONS !== "own" && SESSIONS !== "shared")
    throw new Error("BENCH_SESSIONS is own or shared");
  const settings = botEnv(
    { slackUrl: fake.url, databaseUrl: dbUrl.toString(), prefix, routingFile: ROUTING },
    // Overrides for comparisons, e.g. BENCH_STORM_THRESHOLD=1000000 for "no storm grouping".
    process.env.BENCH_STORM_THRESHOLD ? { STORM_THRESHOLD: process.env.BENCH_STORM_THRESHOLD } : {},
  );
  const bot = await startBot(SHAPE, settings, {
    profiles: PROFILE_DIR !== undefined,
    built: BUILT,
    ownSessions: SESSIONS === "own",
    trips: TRIPS,
    clicksProcess: CLICKS_PROCESS,
  });
  const { db, env } = bot;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const failures = new Queue(env.FAILURE_QUEUE, { connection: redis, prefix });
  const outcomes = new Queue(env.OUTCOME_QUEUE, { connection: redis, prefix });
  let flow: DeliveryFlow | undefined;
  const slack = slackRequester({ url: bot.url, signingSecret: SECRET });

  try {
    say(
      `syncdesk storm bench: ${EVENTS} events, ${CLICKS} clicks (threshold ${env.STORM_THRESHOLD}, window ${env.STORM_WINDOW / 1000}s), ${SHAPE === "single" ? "web and worker in one process" : `${CLICKS_PROCESS ? "web, clicks and worker" : "web and worker"} in separate processes, ${SESSIONS === "own" ? "each in a session of its own" : "in the bench's session"}`}`,
    );
    // ---- 1. the storm ----
    const enqueue = async (events: unknown[], jobPrefix: string) => {
      for (let i = 0; i < events.length; i += 500) {
        await failures.addBulk(
          events.slice(i, i + 500).map((data, j) => ({
            name: "sync.failed",
            data,
            opts: {
              jobId: `${jobPrefix}-${i + j}`,
              attempts: 3,
              backoff: { type: "fixed" as const, delay: 200 },
            },
          })),
        );
      }
    };
    const callsBefore = (await fake.calls()).length;
    const sentAt = performance.now();
    await enqueue(stormEvents(EVENTS), "bench");
    const enqueuedMs = performance.now() - sentAt;
    const accounted = await waitFor(
      "every event accounted for",
      async () => {
        const [row] = await db.execute<{
          occurrences: number;
          accepted: number;
          rejected: number;
        }>(sql`
          select (select coalesce(sum(occurrences), 0)::int from exceptions) as occurrences,
                 (select count(*)::int from failure_events) as accepted,
                 (select count(*)::int from rejected_events) as rejected`);
        return row && row.occurrences + row.rejected >= EVENTS ? row : null;
      },
      600_000,
    );
    const intakeMs = performance.now() - sentAt;
    // Let the Slack side settle: no new call for 3 s.
    let seen = -1;
    const drainStart = performance.now();
    while (performance.now() - drainStart < 120_000) {
      const count = (await fake.calls()).length;
      if (count === seen) break;
      seen = count;
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
    const stormCalls = await fake.calls(callsBefore);
    const stormRows = await db.select().from(storms);
    const members = await db.execute<{ storm_id: number; n: number; carded: number }>(sql`
      select storm_id::int, count(*)::int as n, count(card_ts)::int as carded
      from exceptions where storm_id is not null group by storm_id order by storm_id`);
    const [totals] = await db.execute<{ exceptions: number; carded: number }>(sql`
      select count(*)::int as exceptions, count(card_ts)::int as carded from exceptions`);

    // ---- 2. 200 concurrent clicks ----
    const carded = await db
      .select({ id: exceptions.id, channel: exceptions.channel, ts: exceptions.cardTs })
      .from(exceptions)
      .where(sql`${exceptions.cardTs} is not null`);
    const stormTargets = stormRows.map((s) => ({
      id: s.id,
      channel: s.channel,
      ts: s.cardTs ?? "",
    }));
    const cardTargets = carded.map((c) => ({ id: c.id, channel: c.channel, ts: c.ts ?? "" }));
    const clicks = planClicks(CLICKS, stormTargets, cardTargets);
    const clickCallsBefore = (await fake.calls()).length;
    const bolt = { url: bot.url, secret: SECRET };
    const round = (name: string, planned: Click[], spreadMs: number) =>
      clickRound(bot, fake, bolt, planned.map(toRequest), spreadMs, {
        ...(PROFILE_DIR ? { profileFile: `${PROFILE_DIR}/${SHAPE}-${name}.cpuprofile` } : {}),
        trips: TRIPS,
      });
    // The floor: the same burst against a bare Node server that answers 200 at once (a child
    // process, like Bolt's in the split shape): what this machine and the clickers cost.
    const burstTo = (url: string) => fake.click({ url, secret: SECRET }, clicks.map(toRequest), 0);
    const floor = await floorLatencies(burstTo, BARE_SERVER);
    // And one that first records each request with a BullMQ add, as the edge records a click:
    // what the durable record alone costs here, apart from verifying and parsing.
    const recordFloor = await floorLatencies(
      burstTo,
      recordingServer(REDIS_URL, `${prefix}-floor`),
    );
    flow = startDeliveryFlow(outcomes, DELIVERIES_PER_SEC, id);
    // A process that has served no click yet runs its first ones unoptimised (JIT), which a web
    // process in production does once per deploy: warm it with clicks that change nothing (an
    // outsider's, refused) before the measured rounds, in both shapes alike.
    if (WARMUP > 0)
      await fake.click(
        bolt,
        clicks
          .slice(0, WARMUP)
          .map((c) => toRequest({ ...c, kind: "storm-claim", userId: "U0EVE" })),
        SPREAD_MS,
      );
    // During a storm, as the issue asks: a second storm of the same kinds is queued, and both
    // click rounds run while the worker takes it in (the first one is in, for the targets).
    const takenIn = async () => {
      const [row] = await db.execute<{ n: number }>(sql`
        select (select coalesce(sum(occurrences), 0) from exceptions)::int
             + (select count(*) from rejected_events)::int as n`);
      return (row?.n ?? 0) - (accounted.occurrences + accounted.rejected);
    };
    if (DURING) await enqueue(stormEvents(EVENTS, `${id}-second`), "second");
    const burst = await round("burst", clicks, 0);
    const spread = await round("spread", planClicks(CLICKS, stormTargets, cardTargets), SPREAD_MS);
    const secondAtLastAck = DURING ? await takenIn() : 0;
    if (DURING)
      await waitFor("the second storm taken in", async () => (await takenIn()) >= EVENTS, 600_000);
    const flowRate = await flow.stop();
    const clickCalls = (await fake.calls(clickCallsBefore)).length;

    // ---- 3. Resolve all on the largest unresolved storm, start to finish ----
    const [target] = [...members].sort((a, b) => b.n - a.n);
    let resolveFigure = "no storm";
    if (target) {
      const stormRow = stormRows.find((s) => s.id === target.storm_id);
      const started = performance.now();
      const res = await slack.viewSubmission({
        userId: "U0MGR",
        userName: "mgr",
        callbackId: STORM_RESOLVE_CALLBACK,
        privateMetadata: JSON.stringify({ stormId: target.storm_id, channel: stormRow?.channel }),
        values: {
          note: { value: { type: "plain_text_input", value: "Bench: upstream limit raised" } },
          root_cause: {
            value: {
              type: "static_select",
              selected_option: { text: { type: "plain_text", text: "x" }, value: "target_outage" },
            },
          },
        },
      });
      const ackMs = performance.now() - started;
      const limitMs = Number(process.env.BENCH_RESOLVE_LIMIT_MS ?? 300_000);
      let resolved = 0;
      try {
        await waitFor(
          "Resolve all",
          async () => {
            const [row] = await db
              .select({ n: sql<number>`count(*) filter (where state = 'resolved')::int` })
              .from(exceptions)
              .where(eq(exceptions.stormId, target.storm_id));
            resolved = row?.n ?? 0;
            return resolved >= target.n ? resolved : null;
          },
          limitMs,
        );
      } catch {
        // Reported below as partial.
      }
      const tookS = (performance.now() - started) / 1000;
      resolveFigure = `${resolved}/${target.n} members of ST-${target.storm_id} in ${tookS.toFixed(1)} s (${(resolved / tookS).toFixed(0)}/s), submit acked in ${ms(ackMs)} (HTTP ${res.status})`;
    }

    // ---- figures ----
    const posts = (calls: RecordedCall[]) =>
      countBy(
        calls.filter((c) => c.method === "chat.postMessage" && !c.body.thread_ts),
        (c) =>
          String((c.body.metadata as { event_type?: string } | undefined)?.event_type ?? "other"),
      );
    say();
    say("Events");
    say(line("sent", EVENTS));
    say(line("enqueued by the producer in", ms(enqueuedMs)));
    say(line("accepted (failure_events rows)", accounted.accepted));
    say(line("exception occurrences (sum)", accounted.occurrences));
    say(line("rejected-event rows", accounted.rejected));
    say(
      line(
        "accounted for (occurrences + rejected)",
        `${accounted.occurrences + accounted.rejected} of ${EVENTS}`,
      ),
    );
    say(
      line(
        "intake throughput",
        `${((EVENTS / intakeMs) * 1000).toFixed(0)} events/s (${(intakeMs / 1000).toFixed(1)} s)`,
      ),
    );
    say();
    say("Storms and cards");
    say(line("exceptions (new fingerprints)", totals?.exceptions ?? 0));
    say(line("storms formed", stormRows.length));
    for (const m of members)
      say(line(`  ST-${m.storm_id} members (with own card)`, `${m.n} (${m.carded})`));
    const stormPosts = posts(stormCalls);
    say(
      line(
        "cards posted (exception / storm / rejected)",
        `${stormPosts.syncdesk_exception ?? 0} / ${stormPosts.syncdesk_storm ?? 0} / ${stormPosts.other ?? 0}`,
      ),
    );
    say(line("exceptions with a card of their own", totals?.carded ?? 0));
    say(line("Slack calls during the storm", stormCalls.length));
    say(line("Slack calls per 1,000 events", ((stormCalls.length / EVENTS) * 1000).toFixed(1)));
    say(line("  by method", JSON.stringify(countBy(stormCalls, (c) => c.method))));
    say();
    say(
      `Clicks (${clicks.length} signed requests from Slack's side, in a thread of its own, after ${WARMUP} warm-up clicks)`,
    );
    say(line("by kind", JSON.stringify(countBy(clicks, (c) => c.kind))));
    say(line("Slack's side scheduled at", fake.priority));
    if (DURING)
      say(
        line(
          "during a second storm of",
          `${EVENTS} events: ${secondAtLastAck} taken in at the last ack${secondAtLastAck < EVENTS ? " (intake still running)" : " (intake had finished: the clicks were not during it)"}`,
        ),
      );
    if (DELIVERIES_PER_SEC > 0)
      say(line("deliveries flowing meanwhile, per second", flowRate.toFixed(0)));
    // The issue's target (P99 < 100 ms) is for clicks as people send them, spread; all at once
    // is the stress case, to be read beside the floors of the same burst.
    printRound(
      say,
      "all at once (stress: every click in one instant)",
      burst,
      "compare the floors below",
    );
    printRound(say, `spread over ${SPREAD_MS} ms`, spread, "target < 100 ms");
    for (const [label, latencies] of [
      ["same burst, bare server", floor],
      ["bare server + a BullMQ add each", recordFloor],
    ] as const)
      say(
        line(
          `  floor: ${label} (P50 / P99)`,
          `${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 99))}`,
        ),
      );
    say(line("Slack calls caused by the clicks (so far)", clickCalls));
    say();
    say("Resolve all");
    say(line("resolved", resolveFigure));
    say();
    say(
      line(
        "machine load (1-min average, at end)",
        `${loadavg()[0]?.toFixed(1)} on ${cpus().length} CPUs (started at ${loadAtStart})`,
      ),
    );
  } finally {
    // Every step runs whatever the one before did: a job still running after a forced stop
    // (Resolve all of thousands) must not leave the database or the keys behind.
    const steps: [string, () => Promise<unknown>][] = [
      ["stop the delivery flow", async () => flow?.stop()],
      ["stop the bot", () => bot.stop()],
      ["close the producers", () => Promise.all([failures.close(), outcomes.close()])],
      ["close Slack's side", () => fake.close()],
      ["drop the database", () => dropDatabase(database)],
      ["clear the queues", () => clearPrefix(redis, prefix)],
      ["clear the recording floor's queue", () => clearPrefix(redis, `${prefix}-floor`)],
      ["close Redis", () => redis.quit()],
    ];
    for (const [what, step] of steps) {
      await step().catch((error: unknown) => console.error(`could not ${what}:`, error));
    }
  }
}

function toRequest(click: Click) {
  const actionId =
    click.kind === "card-claim"
      ? ACTIONS.claim
      : STORM_ACTIONS[click.kind.slice(6) as keyof typeof STORM_ACTIONS];
  return {
    userId: click.userId,
    channel: click.channel,
    ts: click.ts,
    actionId,
    value: String(click.id),
  };
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
