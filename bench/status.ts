/**
 * `npm run bench:status`: the `/inventory` queries on a history of 1,000,000 exceptions.
 *
 * Seeds `syncdesk_bench` (BENCH_DATABASE_URL) once with a year of realistic history (see
 * status-seed.ts; reseeded when missing, stale by a day, or with `--reseed`), then runs every
 * query behind `/inventory status`, `mine`, `checklist`, the Home tab and the digest, one at a
 * time, and prints the median and P95 of repeated runs. Target: every one under 150 ms. The
 * clock is fixed at a minute past an hour, where the delivery figures cost most
 * (BENCH_CLOCK=wall: the wall clock, whose cost depends on the minute it runs at).
 */
import { sql } from "drizzle-orm";
import { pipelineReports, pipelineWindows } from "../src/deliveries/pipelines.service.js";
import {
  checklistFacts,
  clientsSeenSince,
  manualWithoutRootCause,
  routingChangesSince,
  unreviewedRejections,
} from "../src/inventory/checklist.repo.js";
import { DAY_MS, HOUR_MS } from "../src/inventory/command-args.js";
import { refreshFigureSnapshots } from "../src/inventory/figure-snapshots.js";
import {
  checklistLines,
  mineReport,
  statusReport,
  statusTimeZone,
  weekFigures,
} from "../src/inventory/inventory.service.js";
import { liveExceptions } from "../src/inventory/live.repo.js";
import {
  cohortTotals,
  liveByRole,
  openedPerDay,
  rejectedSince,
  type Scope,
  topFailingSkus,
  topFailingTargets,
} from "../src/inventory/status.repo.js";
import { type Clock, systemClock } from "../src/platform/clock.js";
import { connectDatabase, ensureDatabase, migrateDatabase } from "../src/platform/db/db.js";
import { staticRouting } from "../src/routing/active-routing.js";
import { parseRoutingText } from "../src/routing/load.js";
import {
  BENCH_DELIVERIES,
  BENCH_ROLES,
  BENCH_ROUTING,
  deliverySeedStatements,
  seedStatements,
} from "./status-seed.js";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = 3;
const TARGET_MS = 150;
const URL_ = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/syncdesk_bench";
const say = (text = "") => console.log(text);
const ms = (value: number) => `${value.toFixed(1)} ms`;
const line = (label: string, value: string) => `  ${label.padEnd(44)} ${value}`;

/** Nearest-rank percentile (p in 0..100). */
function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

async function main() {
  await ensureDatabase(URL_);
  await migrateDatabase(URL_);
  const database = connectDatabase(URL_);
  const db = database.db;
  try {
    await seedIfNeeded(database.sql, process.argv.includes("--reseed"));
    const config = parseRoutingText(BENCH_ROUTING, "bench routing");
    // The delivery figures of a window under 7 days start with minute rows up to the next
    // hour, so an answer costs most at one minute past the hour: the clock is fixed there
    // (the last seeded hour), unless BENCH_CLOCK=wall.
    const clock = process.env.BENCH_CLOCK === "wall" ? systemClock : await worstPhase(database.sql);
    const deps = {
      db,
      clock,
      routing: staticRouting(config),
      directory: {
        usergroupMembers: async () => new Set<string>(),
        displayName: async (id: string) => id,
      },
    };
    const [shape] = await db.execute<{ n: number; live: number; d7: number; d30: number }>(sql`
      select count(*)::int as n, count(*) filter (where state <> 'resolved')::int as live,
        count(*) filter (where opened_at > now() - interval '7 days')::int as d7,
        count(*) filter (where opened_at > now() - interval '30 days')::int as d30
      from exceptions`);
    say(`syncdesk bench:status · ${URL_.replace(/\/\/[^@]*@/, "//")}`);
    say(
      `history: ${shape?.n.toLocaleString("en")} exceptions, ${shape?.live} unresolved, ${shape?.d7.toLocaleString("en")} opened in 7 days, ${shape?.d30.toLocaleString("en")} in 30`,
    );
    say(
      `each query ${RUNS} times after ${WARMUP} warm-up runs, one at a time (whole answers in turns); target < ${TARGET_MS} ms`,
    );
    say(
      clock === systemClock
        ? "clock: the wall clock (BENCH_CLOCK=wall)"
        : `clock: fixed at ${clock.now().toISOString()}, a minute past the hour (the most minute rows)`,
    );

    const now = () => clock.now();
    const w = (ms: number) => ({ now: now(), ms });
    const all: Scope = {};
    const acme: Scope = { client: "client-03" };
    const ads: Scope = { roles: ["ads-ops"] };
    const both: Scope = { client: "client-03", roles: ["ads-ops"] };
    const mine = { roles: ["ads-ops", "storefront-ops"] };
    const ago = (ms: number) => new Date(now().getTime() - ms);

    const queries: [string, () => Promise<unknown>][] = [
      ["status: cohort totals + medians, 24h", () => cohortTotals(db, all, w(DAY_MS))],
      ["status: cohort totals + medians, 7d", () => cohortTotals(db, all, w(7 * DAY_MS))],
      ["status: cohort totals + medians, 30d", () => cohortTotals(db, all, w(30 * DAY_MS))],
      ["status: cohort totals, client 7d", () => cohortTotals(db, acme, w(7 * DAY_MS))],
      ["status: cohort totals, role 7d", () => cohortTotals(db, ads, w(7 * DAY_MS))],
      ["status: cohort totals, client+role 30d", () => cohortTotals(db, both, w(30 * DAY_MS))],
      ["status: opened per day, 7d", () => openedPerDay(db, all, w(7 * DAY_MS))],
      ["status: opened per day, 30d", () => openedPerDay(db, all, w(30 * DAY_MS))],
      ["status: top targets, 7d", () => topFailingTargets(db, all, w(7 * DAY_MS))],
      ["status: top targets, 30d", () => topFailingTargets(db, all, w(30 * DAY_MS))],
      ["status: top SKUs, 7d", () => topFailingSkus(db, all, w(7 * DAY_MS))],
      ["status: top SKUs, 30d", () => topFailingSkus(db, all, w(30 * DAY_MS))],
      ["status: top SKUs, role 30d", () => topFailingSkus(db, ads, w(30 * DAY_MS))],
      ["status: open now per role + oldest", () => liveByRole(db, all)],
      ["status: open now, client", () => liveByRole(db, acme)],
      ["status: rejected events, 7d", () => rejectedSince(db, ago(7 * DAY_MS))],
      ["mine: held by me", () => liveExceptions(db, { claimedBy: "U0OP01" })],
      ["mine/home: unresolved in my roles", () => liveExceptions(db, mine)],
      ["checklist: clients seen in 30d", () => clientsSeenSince(db, ago(30 * DAY_MS))],
      ["checklist: every unresolved", () => liveExceptions(db)],
      ["checklist: unreviewed rejections 24h", () => unreviewedRejections(db, ago(24 * HOUR_MS))],
      ["checklist: routing changes 7d", () => routingChangesSince(db, ago(7 * DAY_MS))],
      ["checklist: manual without cause 7d", () => manualWithoutRootCause(db, ago(7 * DAY_MS))],
      ["checklist: all facts", () => checklistFacts(db, now(), [])],
    ];
    const commands: [string, () => Promise<unknown>][] = [
      [
        "/inventory status (7d)",
        () => statusReport(deps, { windowMs: 7 * DAY_MS, windowLabel: "7d" }),
      ],
      ["/inventory status 24h", () => statusReport(deps, { windowMs: DAY_MS, windowLabel: "24h" })],
      [
        "/inventory status 30d",
        () => statusReport(deps, { windowMs: 30 * DAY_MS, windowLabel: "30d" }),
      ],
      [
        "/inventory status client-03 ads-ops 30d",
        () =>
          statusReport(deps, {
            client: "client-03",
            role: "ads-ops",
            windowMs: 30 * DAY_MS,
            windowLabel: "30d",
          }),
      ],
      ["/inventory mine", () => mineReport(deps, "U0OP01")],
      ["/inventory checklist", () => checklistLines(deps)],
      ["Home tab / digest: week of 2 roles", () => weekFigures(deps, mine.roles)],
      ["digest: week of one role", () => weekFigures(deps, [BENCH_ROLES[0] ?? "ads-ops"])],
      ["/inventory pipelines (24h)", () => pipelineReports(deps, { windowMs: DAY_MS })],
      ["/inventory pipelines 1h", () => pipelineReports(deps, { windowMs: HOUR_MS })],
      ["/inventory pipelines 30d", () => pipelineReports(deps, { windowMs: 30 * DAY_MS })],
      [
        "/inventory pipelines client-03 7d",
        () => pipelineReports(deps, { windowMs: 7 * DAY_MS, client: "client-03" }),
      ],
      ["/inventory pipelines storefronts (4 windows)", () => pipelineWindows(deps, "storefronts")],
    ];

    say();
    say("Queries (each one SQL statement)                   median        P95");
    const failing: string[] = [];
    for (const [name, run] of queries) failing.push(...(await measure(name, run)));
    say();
    // As the worker keeps them: `status.figures` every minute (figure-snapshots.ts).
    const refreshStarted = performance.now();
    await refreshFigureSnapshots(db, now(), statusTimeZone(config, undefined));
    say(
      `status.figures (the worker's run, every minute): ${(performance.now() - refreshStarted).toFixed(0)} ms`,
    );
    say();
    say("Whole answers (queries side by side, no Slack)       median        P95");
    // Taken in turns, one run of each answer per round: measured one after the other, the first
    // answer paid for something that faded within seconds (whichever came first: P95 160-200
    // ms; status 7d measured last: 73 ms).
    const samples = commands.map((): number[] => []);
    for (let round = -WARMUP; round < RUNS; round++)
      for (const [i, [, run]] of commands.entries()) {
        const started = performance.now();
        await run();
        if (round >= 0) samples[i]?.push(performance.now() - started);
      }
    for (const [i, [name]] of commands.entries()) failing.push(...report(name, samples[i] ?? []));
    say();
    say(
      failing.length === 0
        ? `every one under ${TARGET_MS} ms (P95)`
        : `over ${TARGET_MS} ms at P95: ${failing.join(", ")}`,
    );
  } finally {
    await database.close();
  }
}

/** A minute past the last hour the seeded minute rows fully precede. */
async function worstPhase(client: ReturnType<typeof connectDatabase>["sql"]): Promise<Clock> {
  const [row] = await client<{ at: string | null }[]>`
    select max(minute)::text as at from delivery_minutes`;
  const last = row?.at ? new Date(row.at).getTime() : Date.now();
  const at = new Date(Math.floor(last / HOUR_MS) * HOUR_MS + 60_000);
  return { now: () => at };
}

async function measure(name: string, run: () => Promise<unknown>): Promise<string[]> {
  for (let i = 0; i < WARMUP; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return report(name, samples);
}

/** Prints a line of median and P95; the name again when P95 misses the target. */
function report(name: string, samples: number[]): string[] {
  const p50 = percentile(samples, 50);
  const p95 = percentile(samples, 95);
  say(
    `${line(name, ms(p50).padStart(9))}   ${ms(p95).padStart(9)}${p95 >= TARGET_MS ? "  !" : ""}`,
  );
  return p95 >= TARGET_MS ? [name] : [];
}

async function seedIfNeeded(client: ReturnType<typeof connectDatabase>["sql"], force: boolean) {
  const [state] = await client<{ n: number; fresh: boolean }[]>`
    select (select count(*)::int from exceptions) as n,
      coalesce((select max(opened_at) > now() - interval '1 day' from exceptions), false) as fresh`;
  await seedDeliveriesIfNeeded(client, force);
  if (!force && state && state.n === ROWS && state.fresh) return;
  say(`seeding ${ROWS.toLocaleString("en")} exceptions (about a minute per million)…`);
  const started = Date.now();
  for (const statement of seedStatements(ROWS)) await client.unsafe(statement);
  say(`seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** Delivery figures worth BENCH_DELIVERIES deliveries, reseeded when missing or a day old. */
async function seedDeliveriesIfNeeded(
  client: ReturnType<typeof connectDatabase>["sql"],
  force: boolean,
) {
  const [state] = await client<{ fresh: boolean }[]>`
    select coalesce((select max(hour) > now() - interval '1 day' from delivery_hours), false)
      and coalesce((select max(day) > now() - interval '2 days' from delivery_days), false) as fresh`;
  if (!force && state?.fresh) return;
  say(
    `seeding delivery figures for ${BENCH_DELIVERIES.toLocaleString("en")} deliveries over 30 days…`,
  );
  const started = Date.now();
  for (const statement of deliverySeedStatements()) await client.unsafe(statement);
  say(`seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

await main();
