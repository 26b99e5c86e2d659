/**
 * `npm run bench:gates`: how late the latency gates fire after their deadline, on the real bot
 * (web + worker in this process) with the gate sweep slowed to 60 s, so the durable timers
 * alone are measured. Reports GATE_BENCH_DELIVERIES (200) `sync.started` deliveries in waves
 * over two seconds to a pipeline with a 2 s budget and none of their ends, and leaves a second
 * pipeline silent for its 3 s freshness; prints, per gate, how long after its deadline each
 * exception was opened (P50, P95, max; target: within 5 s).
 *
 * Settings: GATE_BENCH_DELIVERIES, BENCH_ADMIN_URL, REDIS_URL, BENCH_LOG_LEVEL.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { sql } from "drizzle-orm";
import { reportDeliveries } from "../src/outcomes/outcome-event.schema.js";
import { startBot } from "./bot-shape.js";
import { line, ms, percentile } from "./figures.js";
import { botEnv, openStage } from "./stage.js";

const DELIVERIES = Number(process.env.GATE_BENCH_DELIVERIES ?? 200);
const WAVES = 10;
const say = (text = "") => console.log(text);

const ROUTING = join(mkdtempSync(join(tmpdir(), "syncdesk-bench-gates-")), "routing.yml");
writeFileSync(
  ROUTING,
  `roles:
  gate-ops:
    channel: C0GATES
    members: [U0ALICE]
routes:
  - role: gate-ops
pipelines:
  - name: bench-late
    match: { client: benchlate }
    budget: 2s
    freshness: 1d
  - name: bench-stale
    match: { client: benchstale }
    budget: 1h
    freshness: 3s
retryQueues: []
`,
);

async function main() {
  const stage = await openStage();
  const { prefix, redis, fake, load } = stage;
  const dbUrl = stage.databaseUrl;
  say(`bench:gates  (load average at start: ${load})`);
  say(line("late deliveries (2 s budget)", `${DELIVERIES} in ${WAVES} waves over 2 s`));
  say(line("gate sweep", "every 60 s (timers alone are measured)"));
  try {
    const bot = await startBot(
      "single",
      botEnv(
        { slackUrl: fake.url, databaseUrl: dbUrl, prefix, routingFile: ROUTING },
        {
          DELIVERY_FLUSH_MS: "200",
          GATE_SWEEP_MS: "60000",
        },
      ),
    );
    const outcomes = new Queue(bot.env.OUTCOME_QUEUE, { connection: redis, prefix });
    try {
      const perWave = Math.ceil(DELIVERIES / WAVES);
      for (let wave = 0; wave < WAVES; wave++) {
        const triggeredAt = new Date().toISOString();
        await reportDeliveries(
          outcomes,
          Array.from({ length: perWave }, (_, i) => ({
            kind: "sync.started" as const,
            eventId: `bench-late-${wave}-${i}`,
            client: "benchlate",
            sku: `LATE-${wave}-${i}`,
            sourceSystem: "erp.netsuite",
            targetSystem: "storefront.shopify",
            triggeredAt,
          })),
        );
        await new Promise((resolve) => setTimeout(resolve, 2000 / WAVES));
      }
      const expected = perWave * WAVES;
      const deadline = Date.now() + 120_000;
      type Row = { failure_mode: string; late_ms: number };
      let rows: Row[] = [];
      for (;;) {
        rows = await bot.db.execute<Row>(sql`
          select failure_mode,
            extract(epoch from opened_at - (latest_event->'gate'->>'expectedAt')::timestamptz)
              * 1000 as late_ms
          from exceptions where latest_event ? 'gate'`);
        const late = rows.filter((r) => r.failure_mode === "latency").length;
        const stale = rows.filter((r) => r.failure_mode === "stale").length;
        if (late >= expected && stale >= 1) break;
        if (Date.now() > deadline) {
          throw new Error(`only ${late} of ${expected} late and ${stale} stale exceptions opened`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (const mode of ["latency", "stale"]) {
        const samples = rows.filter((r) => r.failure_mode === mode).map((r) => Number(r.late_ms));
        say();
        say(`${mode === "latency" ? "late delivery" : "stale pipeline"} gate (${samples.length})`);
        say(line("opened after its deadline, P50", ms(percentile(samples, 50))));
        say(line("P95", ms(percentile(samples, 95))));
        say(line("max (target <= 5,000 ms)", ms(Math.max(...samples))));
      }
    } finally {
      await outcomes.close();
      await bot.stop();
    }
  } finally {
    await stage.close();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
