/**
 * `npm run bench:routing`: what a routing change costs.
 *  - the 30-day "what changes" preview over N exceptions (BENCH_ROUTING_ROWS, default 100,000,
 *    all inside the window, plus 10% older ones it must skip), and
 *  - hot reload: from the commit of an activation to a second process's `current()` answering
 *    the new version, over LISTEN/NOTIFY, and with NOTIFY unavailable (poll only, 1 s).
 * Uses its own database (BENCH_ROUTING_DATABASE_URL), rebuilt on every run.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { NO_EFFECTS } from "../src/exceptions/effects.js";
import { systemClock } from "../src/platform/clock.js";
import { connectDatabase, ensureDatabase, migrateDatabase } from "../src/platform/db/db.js";
import { routingVersions } from "../src/platform/db/schema.js";
import { createLogger } from "../src/platform/logger.js";
import { activate } from "../src/routing/activation.service.js";
import { parseRoutingText } from "../src/routing/load.js";
import { contentHash } from "../src/routing/proposal-check.js";
import { buildReview } from "../src/routing/review.service.js";
import { startRoutingSource } from "../src/routing/routing-source.js";
import { lockRouting, nextVersionNumber } from "../src/routing/versions.repo.js";
import { configOf, syncFileOnStart } from "../src/routing/versions.service.js";

const ROWS = Number(process.env.BENCH_ROUTING_ROWS ?? 100_000);
const SWITCHES = Number(process.env.BENCH_ROUTING_SWITCHES ?? 30);
const URL_ =
  process.env.BENCH_ROUTING_DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/syncdesk_bench_routing";
const EXAMPLE = readFileSync(
  fileURLToPath(new URL("../routing.example.yml", import.meta.url)),
  "utf8",
);
const say = (text = "") => console.log(text);
const ms = (value: number) => `${value.toFixed(1)} ms`;

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return (
    sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] ??
    Number.NaN
  );
}

async function resetDatabase(): Promise<void> {
  const admin = new URL(URL_);
  const name = admin.pathname.slice(1);
  admin.pathname = "/postgres";
  const sqlAdmin = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  await sqlAdmin.unsafe(`drop database if exists "${name}" with (force)`);
  await sqlAdmin.end();
  await ensureDatabase(URL_);
  await migrateDatabase(URL_);
}

async function main() {
  await resetDatabase();
  const logger = createLogger("warn");
  const one = connectDatabase(URL_);
  const two = connectDatabase(URL_);
  try {
    await syncFileOnStart(one.db, {
      text: EXAMPLE,
      fileName: "routing.example.yml",
      now: new Date(),
    });
    say(`Seeding ${ROWS} exceptions in the last 30 days (+${ROWS / 10} older)…`);
    const targets = [
      "ads.google-merchant",
      "ads.meta",
      "storefront.shopify",
      "storefront.shopware",
      "wms.shipbob",
      "crm.hubspot",
    ];
    const modes = ["throttled", "network", "auth", "schema_mismatch", "partial_write", "conflict"];
    await one.db.execute(sql`
      insert into exceptions (fingerprint, client, sku, source_system, target_system, operation,
        failure_mode, state, severity, role, rule_index, routing_version, first_event, latest_event,
        first_seen_at, last_seen_at, opened_at, channel)
      select 'bench-' || g, (array['acme','nordic-outdoor','lumen-beauty','globex'])[1 + g % 4],
        'SKU-' || (g % 5000), 'erp.netsuite', (${sql.raw(`array[${targets.map((t) => `'${t}'`).join(",")}]`)})[1 + g % 6],
        case when g % 50 = 0 then 'catalog_import' else 'stock_update' end,
        (${sql.raw(`array[${modes.map((m) => `'${m}'`).join(",")}]`)})[1 + (g / 7) % 6], 'resolved', 'normal', 'fulfillment-ops', 0, 1,
        jsonb_build_object('eventId', 'evt-' || g), '{}'::jsonb,
        now() - make_interval(secs => (g % 2592000)), now(), 
        case when g > ${ROWS} then now() - interval '40 days' else now() - make_interval(secs => (g % 2592000)) end,
        'C0FULFILL'
      from generate_series(1, ${Math.round(ROWS * 1.1)}) g`);
    await one.db.execute(sql`analyze exceptions`);

    const active = parseRoutingText(EXAMPLE);
    const proposedText = EXAMPLE.replace(
      '  - match: { targetSystem: "ads.*" }\n    role: ads-ops',
      '  - match: { targetSystem: "ads.*" }\n    role: fulfillment-ops',
    );
    const proposed = parseRoutingText(proposedText);
    const previews: number[] = [];
    let last: Awaited<ReturnType<typeof buildReview>> | null = null;
    for (let run = 0; run < 5; run++) {
      const started = performance.now();
      last = await buildReview(
        { db: one.db, clock: systemClock },
        { baseVersion: 1, active, proposed, warnings: [], isRollback: false },
      );
      previews.push(performance.now() - started);
    }
    say("\n30-day preview (re-route every exception of the window under both versions)");
    say(
      `  exceptions in window      ${last?.preview.total} (moved: ${last?.preview.moved}, ${last?.preview.pairs.map((p) => `${p.from}→${p.to} ${p.count}`).join(", ")})`,
    );
    say(
      `  median / max of 5 runs    ${ms(percentile(previews, 50))} / ${ms(Math.max(...previews))}`,
    );
    say(
      `  throughput                ${Math.round(((last?.preview.total ?? 0) / percentile(previews, 50)) * 1000)} exceptions/s`,
    );

    const listening = await startRoutingSource({ database: two, logger, pollMs: 60_000 });
    const deaf = await startRoutingSource({
      database: {
        db: two.db,
        sql: { listen: () => Promise.reject(new Error("no LISTEN")) } as never,
      },
      logger,
      pollMs: 1000,
    });
    const notifyLatency: number[] = [];
    const pollLatency: number[] = [];
    for (let i = 0; i < SWITCHES; i++) {
      const text = `${i % 2 === 0 ? proposedText : EXAMPLE}# switch ${i}\n`;
      const version = await one.db.transaction(async (tx) => {
        await lockRouting(tx);
        const number = await nextVersionNumber(tx);
        const [row] = await tx
          .insert(routingVersions)
          .values({
            version: number,
            text,
            contentHash: contentHash(text),
            status: "proposed",
            source: "bench",
            author: "bench",
            reason: "bench",
          })
          .returning();
        if (!row) throw new Error("no row");
        configOf(row);
        // No moves: the exception seam needs no hooks here.
        const seam = { db: one.db, logger, exceptionEffects: NO_EFFECTS };
        await activate(seam, tx, { row, actor: "bench", now: new Date(), plan: [] });
        return number;
      });
      const committed = performance.now();
      let seenNotify = 0;
      let seenPoll = 0;
      while (!seenNotify || !seenPoll) {
        if (!seenNotify && listening.current().version === version) seenNotify = performance.now();
        if (!seenPoll && deaf.current().version === version) seenPoll = performance.now();
        await new Promise((resolve) => setImmediate(resolve));
      }
      notifyLatency.push(seenNotify - committed);
      pollLatency.push(seenPoll - committed);
    }
    await listening.close();
    await deaf.close();
    say(
      `\nHot reload in a second process, ${SWITCHES} activations (commit -> current() answers the new version)`,
    );
    say(
      `  LISTEN/NOTIFY             p50 ${ms(percentile(notifyLatency, 50))} · p95 ${ms(percentile(notifyLatency, 95))} · max ${ms(Math.max(...notifyLatency))}`,
    );
    say(
      `  poll only (every 1 s)     p50 ${ms(percentile(pollLatency, 50))} · p95 ${ms(percentile(pollLatency, 95))} · max ${ms(Math.max(...pollLatency))}`,
    );
  } finally {
    await one.close();
    await two.close();
  }
}

await main();
