/**
 * `npm run bench:http`: what the HTTP intake (`POST /v1/events`) takes, on the web role alone
 * (the same process kind that serves /slack/events): BENCH_HTTP_REQUESTS (40) batches of
 * BENCH_HTTP_BATCH (500) failure events, BENCH_HTTP_CONCURRENCY (4) requests at a time, each
 * checked, deduplicated against Postgres and Redis, and added to the failures queue; then the
 * same batches again, all answered `duplicate`. Prints request latency (p50/p95/max) and events
 * per second for both passes. The producer's rate is set out of the way (PRODUCER_RATE_PER_SEC).
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { startFakeSlack } from "../dev/slack/fake-slack.js";
import { loadEnv } from "../src/env.js";
import { createLogger } from "../src/platform/logger.js";
import { clearPrefix } from "../src/platform/queue/redis.js";
import { newProducerToken, tokenHint, tokenSha256 } from "../src/producers/producer-token.js";
import { createProducer } from "../src/producers/producers.repo.js";
import { startSyncdesk } from "../src/syncdesk.js";
import { line, ms, percentile } from "./figures.js";
import { botEnv } from "./stage.js";

const REQUESTS = Number(process.env.BENCH_HTTP_REQUESTS ?? 40);
const BATCH = Number(process.env.BENCH_HTTP_BATCH ?? 500);
const CONCURRENCY = Number(process.env.BENCH_HTTP_CONCURRENCY ?? 4);
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const _REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const ROUTING = fileURLToPath(new URL("./routing.bench.yml", import.meta.url));

const run = randomBytes(4).toString("hex");
const database = `syncdesk_bench_http_${run}`;
const prefix = `bench-http-${run}`;
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database "${database}"`);
const fake = await startFakeSlack();
const url = new URL(ADMIN_URL);
url.pathname = `/${database}`;
const env = loadEnv(
  botEnv(
    { slackUrl: fake.url, databaseUrl: url.toString(), prefix, routingFile: ROUTING },
    {
      PRODUCER_RATE_PER_SEC: "1000000",
      PRODUCER_BURST: "1000000",
    },
  ),
);
const desk = await startSyncdesk(env, { roles: ["web"], logger: createLogger(env.LOG_LEVEL) });
try {
  const token = newProducerToken();
  const producer = await createProducer(desk.deps.db, {
    name: "bench",
    role: null,
    tokenSha256: tokenSha256(token),
    tokenHint: tokenHint(token),
    actor: "bench",
    at: new Date(),
  });
  if (!producer.ok) throw new Error("could not create the bench producer");
  const bodies = Array.from({ length: REQUESTS }, (_, r) =>
    JSON.stringify({
      events: Array.from({ length: BATCH }, (_, i) => ({
        name: "sync.failed",
        data: {
          eventId: `http-${run}-${r}-${i}`,
          occurredAt: new Date(Date.UTC(2026, 11, 4, 9, 0, 0, i)).toISOString(),
          client: `client-${r}`,
          sku: `SKU-${i}`,
          sourceSystem: "erp.netsuite",
          targetSystem: "storefront.shopify",
          failureMode: "throttled",
          error: { message: "429 Too Many Requests from the storefront", httpStatus: 429 },
          attempts: 5,
        },
      })),
    }),
  );
  const pass = async (label: string, expect: "accepted" | "duplicates") => {
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    const lane = async () => {
      while (next < bodies.length) {
        const body = bodies[next++] as string;
        const at = performance.now();
        const response = await fetch(`http://127.0.0.1:${desk.port}/v1/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body,
        });
        const answer = (await response.json()) as Record<string, number>;
        latencies.push(performance.now() - at);
        if (response.status !== 202 || answer[expect] !== BATCH)
          throw new Error(`${label}: ${response.status} ${JSON.stringify(answer).slice(0, 300)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    const seconds = (performance.now() - started) / 1000;
    console.log(`${label}: ${REQUESTS} requests of ${BATCH} events, ${CONCURRENCY} at a time`);
    console.log(
      line(
        "request p50 / p95 / max",
        `${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 95))} / ${ms(Math.max(...latencies))}`,
      ),
    );
    console.log(line("events per second", Math.round((REQUESTS * BATCH) / seconds)));
  };
  await pass("first sending (checked, deduplicated, queued)", "accepted");
  await pass("the same again (all duplicates)", "duplicates");
  const waiting = await desk.deps.queues.failures.getJobCounts("waiting");
  console.log(line("jobs on the failures queue", waiting.waiting ?? 0));
} finally {
  await clearPrefix(desk.deps.queues.connection, prefix);
  await desk.stop();
  await fake.close();
  await admin.unsafe(`drop database "${database}" with (force)`);
  await admin.end();
}
