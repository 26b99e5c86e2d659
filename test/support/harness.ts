/**
 * One running syncdesk per test file, on the real Postgres (a clone of the migrated template)
 * and Redis (a queue prefix of its own), with Slack played by the local fake. Tests talk to it
 * the way Slack and producers do: signed HTTP requests and BullMQ jobs.
 *
 * A test file gets one with `const h = useHarness(options)` (use-harness.ts), which also fails
 * the file when it leaks and keeps its database when it fails.
 */
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { type Processor, Queue, Worker } from "bullmq";
import { asc, eq } from "drizzle-orm";
import { inject } from "vitest";
import {
  type FakeSlack,
  type FakeSlackOptions,
  startFakeSlack,
} from "../../dev/slack/fake-slack.js";
import { type SlackRequester, slackRequester } from "../../dev/slack/signing.js";
import { loadEnv } from "../../src/env.js";
import {
  type FailureEventInput,
  reportSyncFailure,
} from "../../src/intake/failure-event.schema.js";
import { auditLog, exceptions } from "../../src/platform/db/schema.js";
import { createLogger } from "../../src/platform/logger.js";
import { clearPrefix, connectRedis } from "../../src/platform/queue/redis.js";
import {
  type ProcessRole,
  type StartOptions,
  type Syncdesk,
  startSyncdesk,
} from "../../src/syncdesk.js";
import { FAST_OUTBOX, FAST_SLACK_LIMITS } from "./fast-slack.js";
import { adminClient, testDatabaseName, databaseUrl as urlOf } from "./test-databases.js";

export const SIGNING_SECRET = "test-signing-secret-0123456789";
export const ROUTING_FIXTURE = fileURLToPath(
  new URL("../fixtures/routing.test.yml", import.meta.url),
);
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

export interface HarnessOptions {
  roles?: ProcessRole[];
  routingFile?: string;
  fake?: FakeSlackOptions;
  env?: Record<string, string>;
  start?: Partial<StartOptions>;
}

export interface Harness {
  bot: Syncdesk;
  fake: FakeSlack;
  slack: SlackRequester;
  env: ReturnType<typeof loadEnv>;
  /** This file's database (a clone of the template); dropped or kept by useHarness. */
  database: string;
  databaseUrl: string;
  /** Adds a failure event to the intake queue the way a producer does. */
  report(event: FailureEventInput): Promise<void>;
  /** Adds any job data at all, as a careless producer might. */
  reportRaw(data: unknown, jobId?: string): Promise<void>;
  /** Adds job data to the outcome queue (`inventory-sync-outcomes`), valid or not. */
  reportOutcome(data: unknown, jobId?: string): Promise<void>;
  /** A producer's queue on the harness prefix (e.g. a retry target); closed by close(). */
  producerQueue(name: string): Queue;
  /** A producer's real BullMQ worker on the harness prefix; closed by close() unless closed first. */
  producerWorker(name: string, processor: Processor): Worker;
  exception(id: number): Promise<typeof exceptions.$inferSelect>;
  exceptionsFor(sku: string): Promise<(typeof exceptions.$inferSelect)[]>;
  audit(exceptionId: number): Promise<(typeof auditLog.$inferSelect)[]>;
  /** Starts another process on the same database and queues (a second replica, a restart). */
  startAnother(roles: ProcessRole[]): Promise<Syncdesk>;
  /** Stops every process, queue, worker and connection and clears the prefix; leaves the database. */
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const id = randomUUID().replaceAll("-", "").slice(0, 16);
  const database = testDatabaseName(inject("testRunId"));
  const admin = adminClient();
  await admin.unsafe(`create database "${database}" template "${inject("templateDatabase")}"`);
  await admin.end();
  const databaseUrl = urlOf(database);

  const fake = await startFakeSlack({ usergroups: { S0FULFILL: ["U0DAVE"] }, ...options.fake });
  const env = loadEnv({
    SLACK_BOT_TOKEN: "xoxb-test-token",
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fake.url,
    PORT: "0",
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: `test-${id}`,
    ROUTING_FILE: options.routingFile ?? ROUTING_FIXTURE,
    RETRY_POLL_MS: "200",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...options.env,
  });
  const start = (roles: ProcessRole[]) =>
    startSyncdesk(env, {
      roles,
      slackRetries: 0,
      slackLimits: FAST_SLACK_LIMITS,
      slackOutbox: FAST_OUTBOX,
      logger: createLogger(env.LOG_LEVEL),
      ...options.start,
    });
  const others: Syncdesk[] = [];
  const bot = await start(options.roles ?? ["web", "worker"]);
  // A Redis Cluster when the test runs the bot on one (REDIS_CLUSTER_NODES), else REDIS_URL;
  // named after the prefix, as syncdesk's and BullMQ's are: the leak check finds it by name.
  const producer = connectRedis(
    { url: REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES, prefix: env.QUEUE_PREFIX },
    `test:${env.QUEUE_PREFIX}:producer`,
  );
  const failures = new Queue(env.FAILURE_QUEUE, { connection: producer, prefix: env.QUEUE_PREFIX });
  const producerQueues = new Map<string, Queue>();
  const producerQueue = (name: string) => {
    let queue = producerQueues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: producer, prefix: env.QUEUE_PREFIX });
      producerQueues.set(name, queue);
    }
    return queue;
  };
  const producerWorkers: Worker[] = [];
  const db = bot.deps.db;

  return {
    bot,
    fake,
    env,
    database,
    databaseUrl,
    slack: slackRequester({
      url: `http://127.0.0.1:${bot.port}`,
      signingSecret: SIGNING_SECRET,
      responseUrl: () => fake.responseUrl(),
    }),
    report: async (event) => {
      await reportSyncFailure(failures, event);
    },
    reportRaw: async (data, jobId) => {
      await failures.add("sync.failed", data, jobId ? { jobId } : {});
    },
    reportOutcome: async (data, jobId) => {
      await producerQueue(env.OUTCOME_QUEUE).add("sync.succeeded", data, jobId ? { jobId } : {});
    },
    producerQueue,
    producerWorker: (name, processor) => {
      const worker = new Worker(name, processor, {
        // Options, not an instance: BullMQ then owns the connections and close() ends them.
        connection: redisOptions(REDIS_URL),
        prefix: env.QUEUE_PREFIX,
      });
      producerWorkers.push(worker);
      return worker;
    },
    exception: async (exceptionId) => {
      const [row] = await db.select().from(exceptions).where(eq(exceptions.id, exceptionId));
      if (!row) throw new Error(`no exception ${exceptionId}`);
      return row;
    },
    exceptionsFor: (sku) =>
      db.select().from(exceptions).where(eq(exceptions.sku, sku)).orderBy(asc(exceptions.id)),
    audit: (exceptionId) =>
      db
        .select()
        .from(auditLog)
        .where(eq(auditLog.exceptionId, exceptionId))
        .orderBy(asc(auditLog.id)),
    startAnother: async (roles) => {
      const other = await start(roles);
      others.push(other);
      return other;
    },
    close: async () => {
      for (const worker of producerWorkers) await worker.close();
      for (const other of others) await other.stop();
      await bot.stop();
      await failures.close();
      for (const queue of producerQueues.values()) await queue.close();
      await clearPrefix(producer, env.QUEUE_PREFIX);
      await producer.quit();
      await fake.close();
    },
  };
}

function redisOptions(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    db: Number(parsed.pathname.slice(1) || 0),
    maxRetriesPerRequest: null,
  };
}

/** Waits for a condition instead of sleeping: resolves with the first truthy value. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`,
  );
}

let eventCounter = 0;
/** A realistic failure event; override what a test is about. */
export function failureEvent(overrides: Partial<FailureEventInput> = {}): FailureEventInput {
  eventCounter += 1;
  return {
    eventId: `evt-${randomUUID()}`,
    occurredAt: new Date(Date.UTC(2026, 10, 26, 9, 0, eventCounter % 60)).toISOString(),
    client: "globex",
    sku: `SKU-${eventCounter}`,
    sourceSystem: "erp.netsuite",
    targetSystem: "storefront.shopify",
    failureMode: "partial_write",
    error: { message: "Shopify accepted 40 of 41 variants", code: "PARTIAL", httpStatus: 207 },
    attempts: 5,
    ...overrides,
  };
}
