/**
 * `npm run bench:sla`: how late SLA steps fire. The real bot (web + worker) plus a second
 * worker replica on a fresh database and queue prefix, Slack played by the local fake. N
 * exceptions are opened within about a second and left alone; each runs its whole ladder
 * (nudges at 1s and 2s, breach at 4s, repeats at +1s and +2s). Prints, per step kind, how late
 * the step fired after its deadline (audit rows) and how late its Slack message arrived (fake
 * Slack's clock), plus duplicates (must be 0).
 *
 * BENCH_EXCEPTIONS (200), BENCH_WORKERS (2: processes taking jobs), JOB_CONCURRENCY (the
 * setting's default), BENCH_SLACK=fast|real
 * (fast: Slack limits high enough that pacing does not hide the timers; real: Slack's own
 * limits, ~1 post/s per channel, which delays thread notes in one busy channel).
 */
import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { eq } from "drizzle-orm";
import { Redis } from "ioredis";
import postgres from "postgres";
import { standInBotToken, startFakeSlack } from "../dev/slack/fake-slack.js";
import { loadEnv } from "../src/env.js";
import { reportSyncFailure } from "../src/intake/failure-event.schema.js";
import { auditLog } from "../src/platform/db/schema.js";
import { createLogger } from "../src/platform/logger.js";
import { clearPrefix } from "../src/platform/queue/redis.js";
import { DEFAULT_SLACK_LIMITS, type RateRule } from "../src/platform/slack/rate-limits.js";
import { type StartOptions, type Syncdesk, startSyncdesk } from "../src/syncdesk.js";

const EXCEPTIONS = Number(process.env.BENCH_EXCEPTIONS ?? 200);
const WORKERS = Math.max(1, Number(process.env.BENCH_WORKERS ?? 2));
const REAL_SLACK = process.env.BENCH_SLACK === "real";
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const ROUTING = fileURLToPath(new URL("./routing.sla-bench.yml", import.meta.url));
/** Steps per exception in routing.sla-bench.yml: 2 nudges, breach, 2 repeats. */
const STEPS = 5;
/** Messages per exception: 2 nudges; breach note + 2 DMs; 2 DMs; last 2 DMs + stop note. */
const MESSAGES = 2 + 3 + 2 + 3;
const say = (text = "") => console.log(text);

const FAST: RateRule[] = [{ perMinute: 600_000, burst: 1000, scope: "workspace" }];
const fastSlack: Partial<StartOptions> = {
  slackLimits: {
    methods: Object.fromEntries(Object.keys(DEFAULT_SLACK_LIMITS.methods).map((m) => [m, FAST])),
    fallback: FAST,
  },
  slackOutbox: { pollMs: 200, concurrency: 32 },
};

function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return (
    sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] ?? 0
  );
}

function summary(label: string, samples: number[]): string {
  if (samples.length === 0) return `  ${label.padEnd(30)} (none)`;
  const f = (n: number) => `${Math.round(n)}`.padStart(6);
  return `  ${label.padEnd(30)} n=${String(samples.length).padStart(5)}  p50 ${f(percentile(samples, 50))}  p95 ${f(percentile(samples, 95))}  p99 ${f(percentile(samples, 99))}  max ${f(Math.max(...samples))}  (ms late)`;
}

async function main() {
  const id = `${process.pid}_${randomBytes(3).toString("hex")}`;
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/syncdesk_bench_${id}`;
  const prefix = `bench-${id}`;
  const fake = await startFakeSlack({ usergroups: { S0FULFILL: ["U0DAVE"] } });
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
    // Every exception keeps a card of its own (a storm would take them onto one storm card).
    STORM_THRESHOLD: "1000000",
    ...(process.env.JOB_CONCURRENCY ? { JOB_CONCURRENCY: process.env.JOB_CONCURRENCY } : {}),
  });
  const options: StartOptions = {
    roles: ["web", "worker"],
    logger: createLogger("silent"),
    ...(REAL_SLACK ? {} : fastSlack),
  };
  const bots: Syncdesk[] = [await startSyncdesk(env, options)];
  for (let i = 1; i < WORKERS; i++)
    bots.push(await startSyncdesk(env, { ...options, roles: ["worker"] }));
  const bot = bots[0] as Syncdesk;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const failures = new Queue(env.FAILURE_QUEUE, { connection: redis, prefix });

  try {
    say(
      `syncdesk SLA timer bench: ${EXCEPTIONS} exceptions x ${STEPS} steps, ${WORKERS} worker processes x ${env.JOB_CONCURRENCY} jobs, Slack limits ${REAL_SLACK ? "real" : "fast"}, ${cpus().length} CPUs, load ${loadavg()[0]?.toFixed(1)}`,
    );
    const started = Date.now();
    await Promise.all(
      Array.from({ length: EXCEPTIONS }, (_, i) =>
        reportSyncFailure(failures, {
          eventId: `bench-${id}-${i}`,
          occurredAt: new Date().toISOString(),
          client: "bench",
          sku: `SKU-${i}`,
          sourceSystem: "erp.netsuite",
          targetSystem: "storefront.shopify",
          failureMode: "partial_write",
          error: { message: "bench failure" },
          attempts: 3,
        }),
      ),
    );
    const expected = EXCEPTIONS * STEPS;
    const rows = await waitFor(`${expected} SLA steps`, 120_000, async () => {
      const found = await bot.deps.db.select().from(auditLog).where(eq(auditLog.source, "sla"));
      return found.length >= expected ? found : null;
    });
    // A nudge that fired so late that the next one was due too is recorded but not sent.
    const messagesExpected = rows.reduce(
      (sum, row) => sum + ((row.details as { recipients: string[] }).recipients?.length ?? 0),
      0,
    );
    await waitFor(`${messagesExpected} Slack messages`, 120_000, async () =>
      slaDeliveries(fake.calls).length >= messagesExpected ? true : null,
    ).catch((error: Error) => {
      throw new Error(`${error.message} (got ${slaDeliveries(fake.calls).length})`);
    });
    const elapsed = Date.now() - started;

    const byStep = new Map<string, number>();
    const lateByKind = new Map<string, number[]>();
    const deadlineOf = new Map<string, number>();
    for (const row of rows) {
      const details = row.details as { step: string; deadline: string; lateMs: number };
      const key = `${row.exceptionId}-${details.step}`;
      byStep.set(key, (byStep.get(key) ?? 0) + 1);
      deadlineOf.set(key, Date.parse(details.deadline));
      const kind = details.step.replace(/-\d+$/, "");
      lateByKind.set(kind, [...(lateByKind.get(kind) ?? []), details.lateMs]);
    }
    const deliveries = slaDeliveries(fake.calls);
    const sentPerKey = new Map<string, number>();
    const deliveryLate: number[] = [];
    for (const delivery of deliveries) {
      sentPerKey.set(delivery.key, (sentPerKey.get(delivery.key) ?? 0) + 1);
      const deadline = deadlineOf.get(delivery.step);
      if (deadline !== undefined) deliveryLate.push(delivery.at - deadline);
    }
    say();
    say("Timer lateness: fired-at minus the deadline it enforced (audit rows)");
    for (const [kind, samples] of lateByKind) say(summary(kind, samples));
    say(summary("all steps", [...lateByKind.values()].flat()));
    say();
    say("Delivery lateness: Slack received the message minus the deadline");
    say(summary("nudges, notes and DMs", deliveryLate));
    say();
    say(
      `  steps recorded more than once             ${[...byStep.values()].filter((n) => n > 1).length}`,
    );
    say(
      `  Slack messages sent more than once        ${[...sentPerKey.values()].filter((n) => n > 1).length}`,
    );
    say(`  steps recorded / expected                 ${rows.length} / ${expected}`);
    say(
      `  messages sent / ladder without skips      ${deliveries.length} / ${EXCEPTIONS * MESSAGES} (${rows.filter((row) => row.note).length} late nudges superseded)`,
    );
    say(`  wall time                                 ${(elapsed / 1000).toFixed(1)} s`);
  } finally {
    await failures.close();
    for (const running of bots.reverse()) await running.stop();
    await clearPrefix(redis, prefix);
    await redis.quit();
    await fake.close();
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "syncdesk_bench_${id}" with (force)`);
    await admin.end();
  }
}

interface Delivery {
  /** The outbox dedupe key, `sla-<id>-<step>-<recipient>`. */
  key: string;
  /** `<id>-<step>`, as in the audit rows. */
  step: string;
  at: number;
}

/** SLA messages the fake received: each carries its outbox dedupe key in metadata. */
function slaDeliveries(calls: { method: string; body: Record<string, unknown>; at: Date }[]) {
  const found: Delivery[] = [];
  for (const call of calls) {
    if (call.method !== "chat.postMessage" || call.at === undefined) continue;
    const metadata = call.body.metadata as { event_payload?: { dedupe_key?: string } } | undefined;
    const key = metadata?.event_payload?.dedupe_key;
    const match = key ? /^sla-(\d+)-([a-z_]+-\d+)-/.exec(key) : null;
    if (key && match) found.push({ key, step: `${match[1]}-${match[2]}`, at: call.at.getTime() });
  }
  return found;
}

async function waitFor<T>(what: string, limitMs: number, probe: () => Promise<T | null>) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

await main();
