/**
 * `npm run bench:retention`: prunes a table of 1,000,000 expired failure payloads (BENCH_ROWS)
 * while intake keeps going, and prints how long each batch held its locks, how long intake's
 * own transactions took meanwhile, and the longest lock wait sampled from pg_stat_activity.
 * Target: no batch (the longest lock retention holds) over 1 s.
 *
 * Runs on its own database (syncdesk_bench_retention, dropped and made again), this machine's
 * Postgres; seeding 1M rows inside Postgres takes about a minute.
 */
import { sql as dsql } from "drizzle-orm";
import postgres from "postgres";
import { connectDatabase, ensureDatabase, migrateDatabase } from "../src/platform/db/db.js";
import { createLogger } from "../src/platform/logger.js";
import { BATCH_SIZE, pruneRetention } from "../src/retention/retention.job.js";
import { failurePayloads } from "../src/retention/retention-rules.js";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const PER_EXCEPTION = 100;
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const NAME = "syncdesk_bench_retention";
const say = (text: string) => console.log(text);
const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function main() {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${NAME} with (force)`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${NAME}`;
  await ensureDatabase(url.toString());
  await migrateDatabase(url.toString());
  const database = connectDatabase(url.toString(), { max: 4 });
  const { sql } = database;

  let started = Date.now();
  const exceptions = Math.ceil(ROWS / PER_EXCEPTION);
  // Resolved 200 days ago, their payloads past the default 90 days; one live exception for intake.
  await sql`
    insert into exceptions (fingerprint, client, sku, source_system, target_system, operation,
      failure_mode, state, severity, role, rule_index, first_event, latest_event, first_seen_at,
      last_seen_at, resolved_at, resolution, channel)
    select md5(g::text), 'acme', 'SKU-' || g, 'erp.netsuite', 'storefront.shopify', 'stock_update',
      'throttled', 'resolved', 'normal', 'fulfillment-ops', 0, '{}', '{}',
      now() - interval '200 days', now() - interval '200 days', now() - interval '200 days', 'manual',
      'C0FULFILL'
    from generate_series(1, ${exceptions}) g`;
  const [live] = await sql<{ id: number }[]>`
    insert into exceptions (fingerprint, client, sku, source_system, target_system, operation,
      failure_mode, state, severity, role, rule_index, first_event, latest_event, first_seen_at, last_seen_at, channel)
    values ('live', 'acme', 'SKU-LIVE', 'erp.netsuite', 'storefront.shopify', 'stock_update',
      'throttled', 'open', 'normal', 'fulfillment-ops', 0, '{}', '{}', now(), now(), 'C0FULFILL')
    returning id`;
  await sql`
    insert into failure_events (event_id, exception_id, occurred_at, received_at, payload)
    select 'evt-' || g, 1 + (g - 1) / ${PER_EXCEPTION}, now() - interval '201 days',
      now() - interval '201 days',
      jsonb_build_object('eventId', 'evt-' || g, 'client', 'acme', 'sku', 'SKU-' || g,
        'error', jsonb_build_object('message', repeat('x', 200), 'httpStatus', 429))
    from generate_series(1, ${ROWS}) g`;
  await sql`vacuum analyze failure_events`;
  await sql`analyze exceptions`;
  say(
    `seeded ${ROWS.toLocaleString()} expired failure payloads in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );

  // Intake keeps going: one failure event a transaction, as intake.service writes it.
  let intaking = true;
  const intake: number[] = [];
  const intakeLoop = (async () => {
    let n = 0;
    while (intaking) {
      const t = performance.now();
      await sql.begin(async (tx) => {
        await tx`
          insert into failure_events (event_id, exception_id, occurred_at, payload)
          values (${`live-${n++}`}, ${live?.id ?? 0}, now(), '{"eventId":"live"}')`;
        await tx`update exceptions set occurrences = occurrences + 1, last_seen_at = now() where id = ${live?.id ?? 0}`;
      });
      intake.push(performance.now() - t);
    }
  })();
  // The longest anyone waited on a lock, sampled every 50 ms.
  let longestWaitMs = 0;
  const sampler = setInterval(() => {
    void sql<{ ms: number | null }[]>`
      select max(extract(epoch from now() - state_change) * 1000)::float8 as ms
      from pg_stat_activity where wait_event_type = 'Lock' and datname = ${NAME}`
      .then(([row]) => {
        longestWaitMs = Math.max(longestWaitMs, row?.ms ?? 0);
      })
      .catch(() => {});
  }, 50);

  started = Date.now();
  const batches: number[] = [];
  const figures = await pruneRetention(
    { db: database.db, logger: createLogger("silent") },
    [failurePayloads(90 * 86_400_000)],
    { budgetMs: Number.POSITIVE_INFINITY, onBatch: (_table, batchMs) => batches.push(batchMs) },
  );
  const pruneSeconds = (Date.now() - started) / 1000;
  intaking = false;
  clearInterval(sampler);
  await intakeLoop;

  const [left] = await database.db.execute(dsql`
    select count(*)::int as n from failure_events where exception_id <> ${live?.id ?? 0}`);
  const table = figures.failure_events;
  say(
    `pruned ${table?.rows.toLocaleString()} rows in ${pruneSeconds.toFixed(1)} s, ${table?.batches} batches of up to ${BATCH_SIZE} (${((table?.rows ?? 0) / pruneSeconds).toFixed(0)} rows/s); ${(left as { n: number }).n} expired rows left`,
  );
  say(
    `batch transaction (the longest lock retention holds): p50 ${ms(pct(batches, 50))}, p99 ${ms(pct(batches, 99))}, max ${ms(Math.max(...batches))}  (target: max < 1000 ms)`,
  );
  say(
    `intake meanwhile: ${intake.length} transactions, p50 ${ms(pct(intake, 50))}, p99 ${ms(pct(intake, 99))}, max ${ms(Math.max(...intake))}`,
  );
  say(`longest lock wait seen in pg_stat_activity: ${ms(longestWaitMs)}`);
  await database.close();
  if (Math.max(...batches) >= 1000) process.exitCode = 1;
}

await main();
