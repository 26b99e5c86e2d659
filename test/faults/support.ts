/**
 * The fault suite's stage: syncdesk runs as real child processes (`tsx src/main.ts worker|web`)
 * on a test database cloned from the template, its own queue prefix and the fake Slack in the
 * test process. Tests kill, terminate and cut those processes' connections, then count.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import postgres from "postgres";
import { expect, inject, onTestFailed } from "vitest";
import { type FakeSlack, startFakeSlack } from "../../dev/slack/fake-slack.js";
import { type FailureEventInput, failureJobId } from "../../src/intake/failure-event.schema.js";
import { clearPrefix } from "../../src/platform/queue/redis.js";
import { eventually, failureEvent } from "../support/harness.js";
import { connectionLeaks } from "../support/leaks.js";
import {
  ADMIN_URL,
  adminClient,
  testDatabaseName,
  databaseUrl as urlOf,
} from "../support/test-databases.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHARED_REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const BOT_TOKEN = "xoxb-fault-suite-SECRETTOKEN";
export const SIGNING_SECRET = "fault-suite-signing-secret";

export interface Proc {
  role: string;
  child: ChildProcess;
  /** Everything the process wrote (pino JSON lines and any stderr). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

export interface Stage {
  fake: FakeSlack;
  prefix: string;
  databaseUrl: string;
  env: Record<string, string>;
  /** A connection for reading the results, named so fault injection can spare it. */
  sql: postgres.Sql;
  redis: Redis;
  failures: Queue;
  start(role: "worker" | "web" | "clicks", extraEnv?: Record<string, string>): Promise<Proc>;
  /** Adds events the way a producer does (job id from the eventId, one attempt). */
  report(events: FailureEventInput[]): Promise<void>;
  reportRaw(jobs: { jobId: string; data: unknown }[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Private servers (test/faults/servers.ts) instead of the shared ones, for tests that restart
 * them: their data is thrown away with them, so nothing is created or cleaned up there.
 */
export interface StageServers {
  databaseUrl?: string;
  redisUrl?: string;
}

export async function startStage(
  env: Record<string, string> = {},
  servers: StageServers = {},
): Promise<Stage> {
  const id = randomUUID().replaceAll("-", "").slice(0, 16);
  const database = testDatabaseName(inject("testRunId"));
  if (!servers.databaseUrl) {
    const admin = adminClient();
    await admin.unsafe(`create database "${database}" template "${inject("templateDatabase")}"`);
    await admin.end();
  }
  // A failed test keeps its database for inspection (close() says which).
  let failed = false;
  onTestFailed(() => {
    failed = true;
  });
  const databaseUrl = servers.databaseUrl ?? urlOf(database);
  const REDIS_URL = servers.redisUrl ?? SHARED_REDIS_URL;
  const prefix = `fault-${id}`;
  const fake = await startFakeSlack({ usergroups: { S0FULFILL: ["U0DAVE"] } });
  const sql = postgres(databaseUrl, {
    max: 2,
    onnotice: () => {},
    connection: { application_name: "fault-test" },
  });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const failures = new Queue("inventory-sync-failures", { connection: redis, prefix });
  if (servers.redisUrl) {
    // The test stops this server on purpose: its refused reconnects are not news.
    redis.on("error", () => {});
    failures.on("error", () => {});
  }
  const childEnv = {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fake.url,
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    ROUTING_FILE: fileURLToPath(new URL("../fixtures/routing.test.yml", import.meta.url)),
    RETRY_POLL_MS: "500",
    LOG_LEVEL: process.env.FAULT_LOG_LEVEL ?? "info",
    // Recover a killed worker's jobs in seconds, not BullMQ's default 30.
    QUEUE_LOCK_MS: "4000",
    INTAKE_SWEEP_MS: "1000",
    // The suite's time bounds are about the bot, not about sharing the CPU with the test runner
    // at a lower priority (worker-priority.test.ts covers WORKER_NICENESS).
    WORKER_NICENESS: "0",
    ...env,
  };
  const procs: Proc[] = [];

  return {
    fake,
    prefix,
    databaseUrl,
    env: childEnv,
    sql,
    redis,
    failures,
    async start(role, extraEnv = {}) {
      const proc = spawnRole(role, { ...childEnv, ...extraEnv });
      procs.push(proc);
      await waitForLine(proc, "syncdesk started", 30_000);
      return proc;
    },
    async report(events) {
      await failures.addBulk(
        events.map((data) => ({
          name: "sync.failed",
          data,
          opts: { jobId: failureJobId(data.eventId), removeOnComplete: false },
        })),
      );
    },
    async reportRaw(jobs) {
      await failures.addBulk(
        jobs.map((job) => ({ name: "sync.failed", data: job.data, opts: { jobId: job.jobId } })),
      );
    },
    async close() {
      // FAULT_LOG_DIR=/some/dir keeps each process's output for reading after a failure.
      const logDir = process.env.FAULT_LOG_DIR;
      if (logDir) {
        const { writeFileSync } = await import("node:fs");
        procs.forEach((proc, i) => {
          writeFileSync(`${logDir}/${prefix}-${i}-${proc.role}.log`, proc.output());
        });
      }
      const leaks = procs.filter(
        (proc) => proc.output().includes(BOT_TOKEN) || proc.output().includes(SIGNING_SECRET),
      );
      for (const proc of procs) {
        if (proc.child.exitCode === null && proc.child.signalCode === null) {
          proc.child.kill("SIGKILL");
          await proc.exited;
        }
      }
      if (servers.redisUrl) {
        // A private server may be down when a test fails: do not wait for it.
        redis.disconnect();
        await failures.close().catch(() => {});
      } else {
        await failures.close();
        await clearPrefix(redis, prefix);
        await redis.quit();
      }
      await sql.end({ timeout: 5 });
      await fake.close();
      const left: string[] = [];
      if (!servers.databaseUrl) {
        // Every process is gone: nothing may still be connected (no DROP … WITH (FORCE), which
        // would hide it), and a failed test's database stays for inspection.
        const admin = adminClient();
        try {
          left.push(...(await connectionLeaks(admin, database, REDIS_URL, prefix)));
          if (failed || left.length > 0) {
            console.warn(`kept the test database for inspection: ${database} (${databaseUrl})`);
          } else {
            await admin.unsafe(`drop database "${database}"`);
          }
        } finally {
          await admin.end();
        }
      }
      if (leaks.length) throw new Error(`a secret appears in the ${leaks[0]?.role} process's log`);
      if (left.length) throw new Error(`the test left things behind:\n- ${left.join("\n- ")}`);
    },
  };
}

function spawnRole(role: string, env: Record<string, string>): Proc {
  // As the Procfile runs it: tsx as a loader inside node, so signals reach main.ts directly.
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { role, child, output: () => text, exited };
}

export async function waitForLine(proc: Proc, text: string, timeoutMs = 10_000): Promise<void> {
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  await eventually(
    async () => {
      if (proc.output().includes(text)) return true;
      if (exited) throw new Error(`${proc.role} exited before "${text}":\n${proc.output()}`);
      return false;
    },
    timeoutMs,
    `"${text}" from the ${proc.role} process`,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n--- output ---\n${proc.output().slice(-4000)}`);
  });
}

/** Which of these events and jobs left a trace: an occurrence, or a rejected-event row. */
export async function accounting(
  stage: Stage,
  events: string[],
  rejectedJobs: string[],
): Promise<{ missingEvents: string[]; missingRejections: string[] }> {
  const stored = await stage.sql<{ event_id: string }[]>`
    select event_id from failure_events where event_id = any(${events})`;
  const rejected = await stage.sql<{ source_job_id: string }[]>`
    select source_job_id from rejected_events where source_job_id = any(${rejectedJobs})`;
  const seen = new Set(stored.map((row) => row.event_id));
  const seenJobs = new Set(rejected.map((row) => row.source_job_id));
  return {
    missingEvents: events.filter((id) => !seen.has(id)),
    missingRejections: rejectedJobs.filter((id) => !seenJobs.has(id)),
  };
}

/** Top-level card messages in the fake's channels, per exception id (deleted ones excluded). */
export function cardsPerException(stage: Stage, channels: string[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const channel of channels) {
    for (const message of stage.fake.messages(channel)) {
      const metadata = message.metadata as
        | { event_type?: string; event_payload?: { exception_id?: number } }
        | undefined;
      const id = metadata?.event_payload?.exception_id;
      if (metadata?.event_type !== "syncdesk_exception" || id === undefined) continue;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/** Redis connections of the processes under test (named after the queue prefix). */
export async function killRedisClients(stage: Stage): Promise<number> {
  const list = (await stage.redis.client("LIST")) as string;
  let killed = 0;
  for (const line of list.split("\n")) {
    const name = /\bname=(\S*)/.exec(line)?.[1] ?? "";
    const clientId = /\bid=(\d+)/.exec(line)?.[1];
    if (!clientId) continue;
    if (name.startsWith(`${stage.prefix}:`) || name.startsWith(`syncdesk:${stage.prefix}:`)) {
      await stage.redis.client("KILL", "ID", clientId);
      killed += 1;
    }
  }
  return killed;
}

/** Terminates every Postgres backend of the test database except the test's own. */
export async function terminateBackends(stage: Stage): Promise<number> {
  const database = new URL(stage.databaseUrl).pathname.slice(1);
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    // Chosen first, terminated after: never anything outside the test database.
    const victims = await admin<{ pid: number }[]>`
      select pid from pg_stat_activity
      where datname = ${database} and application_name <> 'fault-test'
        and pid <> pg_backend_pid()`;
    const pids = victims.map((row) => row.pid);
    if (pids.length === 0) return 0;
    const done = await admin<{ ok: boolean }[]>`
      select pg_terminate_backend(pid) as ok from unnest(${pids}::int[]) as pid`;
    return done.filter((row) => row.ok).length;
  } finally {
    await admin.end();
  }
}

export function burst(n: number, fingerprints: number): FailureEventInput[] {
  const run = randomUUID().slice(0, 8);
  return Array.from({ length: n }, (_, i) => {
    const event = failureEvent({
      eventId: `burst-${run}-${i}`,
      sku: `SKU-${run}-${i % fingerprints}`,
      client: `client-${i % 3}`,
    });
    // Half the fingerprints go to the ads channel: Slack's pace is per channel.
    return (i % fingerprints) % 2
      ? { ...event, targetSystem: "ads.google", failureMode: "throttled" as const }
      : event;
  });
}

export function badJobs(n: number) {
  const run = randomUUID().slice(0, 8);
  return Array.from({ length: n }, (_, i) => ({
    jobId: `bad-${run}-${i}`,
    data: { eventId: `bad-${run}-${i}`, sku: i, attempts: "many" },
  }));
}

export async function processed(s: Stage): Promise<number> {
  const [row] = await s.sql<{ n: number }[]>`
    select (select count(*) from failure_events)::int + (select count(*) from rejected_events)::int as n`;
  return row?.n ?? 0;
}

export async function everythingAccountedFor(
  s: Stage,
  events: FailureEventInput[],
  bad: { jobId: string }[],
) {
  const ids = events.map((e) => e.eventId);
  const jobs = bad.map((b) => b.jobId);
  let last: Awaited<ReturnType<typeof accounting>> | undefined;
  await eventually(
    async () => {
      last = await accounting(s, ids, jobs);
      return last.missingEvents.length === 0 && last.missingRejections.length === 0;
    },
    60_000,
    "every event accounted for",
  ).catch((error: Error) => {
    throw new Error(
      `${error.message}: ${last?.missingEvents.length} events and ${last?.missingRejections.length} rejections missing`,
    );
  });
}

export async function oneCardEach(s: Stage) {
  const exceptions = await s.sql<{ id: number; card_ts: string | null }[]>`
    select id, card_ts from exceptions order by id`;
  await eventually(
    async () => {
      const rows = await s.sql<{ missing: number }[]>`
        select count(*)::int as missing from exceptions where card_ts is null`;
      return rows[0]?.missing === 0;
    },
    60_000,
    "every exception's card",
  ).catch(async (error: Error) => {
    const outbox = await s.sql`
      select state, kind, count(*)::int as n, max(last_error) as last_error
      from slack_outbox group by state, kind`;
    throw new Error(`${error.message}; outbox: ${JSON.stringify(outbox)}`);
  });
  const cards = cardsPerException(s, ["C0FULFILL", "C0ADS"]);
  const duplicated = [...cards].filter(([, count]) => count > 1);
  expect(duplicated, "exceptions with more than one card").toEqual([]);
  expect(cards.size).toBe(exceptions.length);
  return { exceptions: exceptions.length, posts: s.fake.callsTo("chat.postMessage").length };
}
