/**
 * The composition root as a function: env -> deps -> Bolt app and workers, and a stop() that
 * closes them in reverse order. main.ts, the demo and the integration tests all start the bot
 * through here, so what is tested is what runs.
 */

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { App } from "@slack/bolt";
import { type Job, UnrecoverableError } from "bullmq";
import { startDeliveryDesk } from "./deliveries/deliveries.job.js";
import { rejectionsCardBinding } from "./deliveries/rejections.js";
import type { Env } from "./env.js";
import { cardOutboxHandlers, syncCard } from "./exceptions/cards.js";
import { registerExceptionListeners } from "./exceptions/exceptions.slack.js";
import { registerReassignListeners } from "./exceptions/reassign.slack.js";
import { ingestFailure } from "./intake/intake.service.js";
import { sweepFailedIntake } from "./intake/intake-sweeper.js";
import {
  queueRejectedCardFor,
  registerRejectedListeners,
  rejectedCardBinding,
} from "./intake/rejected.js";
import {
  digestDeliveryBinding,
  digestKey,
  scheduleDigest,
  sendDigest,
} from "./inventory/digest.job.js";
import { fanOutHome, refreshHomeJob } from "./inventory/home.service.js";
import { registerInventoryCommand } from "./inventory/inventory.slack.js";
import { type Clock, systemClock } from "./platform/clock.js";
import { connectDatabase, ensureDatabase, migrateDatabase } from "./platform/db/db.js";
import type { Deps, RoutingSource } from "./platform/deps.js";
import { createLogger, exceptionLogger, type Logger } from "./platform/logger.js";
import { countIntake, registry, serveMetrics, watchQueueDepth } from "./platform/metrics.js";
import {
  INTERNAL_QUEUE,
  type JobData,
  type JobName,
  jobCatalog,
} from "./platform/queue/catalog.js";
import { createQueues, enqueue } from "./platform/queue/queues.js";
import { createRedis } from "./platform/queue/redis.js";
import { startWorker } from "./platform/queue/worker.js";
import { createSlackApp } from "./platform/slack/app.js";
import { createDirectory } from "./platform/slack/directory.js";
import { createSlackOutbound } from "./platform/slack/outbound.js";
import { type OutboxRelaySettings, startOutboxRelay } from "./platform/slack/outbox-relay.js";
import { type SlackLimits, withLimits } from "./platform/slack/rate-limits.js";
import { promSlackMetrics, type SlackStats } from "./platform/slack/slack-metrics.js";
import { reconcileRetries } from "./retries/retry-tracker.js";
import { approvalCardBinding } from "./routing/approval-card.service.js";
import { registerRoutingListeners } from "./routing/routes.slack.js";
import { readCheckedRoutingFile, startVersionedRouting } from "./routing/routing-source.js";
import { DEFAULT_MAX_BODY_BYTES } from "./security/request-guard.js";
import { registerEventDedupe, slackRequestGuard } from "./security/slack-edge.js";
import { registerSlaListeners } from "./sla/sla.slack.js";
import { slaCardDecorator } from "./sla/sla-messages.js";
import { fireSlaStep } from "./sla/sla-step.job.js";
import { armSla, sweepSla } from "./sla/sla-timers.js";
import { stormMemberLine } from "./storms/storm-card.js";
import { stormCardHandler } from "./storms/storm-cards.js";
import { createStormDesk } from "./storms/storm-desk.js";
import { stormJobHandlers } from "./storms/storm-jobs.js";
import { registerStormListeners } from "./storms/storms.slack.js";

export type ProcessRole = "web" | "worker";

export interface StartOptions {
  roles: ProcessRole[];
  logger?: Logger;
  clock?: Clock;
  /** Fixed routing instead of the versions in Postgres (no review gate, no hot reload). */
  routing?: RoutingSource;
  /** false: leave ROUTING_FILE alone and serve the active version (tools such as the CLI). */
  routingFile?: boolean;
  /** Web API retries of 5xx/network errors within one call; tests that assert on failures set 0. */
  slackRetries?: number;
  /** Slack rate limits (per method rules, backoff); tests make them fast. */
  slackLimits?: Partial<SlackLimits>;
  /** The Slack outbox relay (poll, backoff) and the card update window. */
  slackOutbox?: Partial<OutboxRelaySettings> & { cardWindowMs?: number };
}

export interface Syncdesk {
  deps: Deps;
  app: App | null;
  /** The HTTP port Bolt listens on (web role, HTTP mode). */
  port: number | null;
  /** This process's Slack Web API calls and waits, as the outbound path counted them. */
  slackStats: SlackStats;
  stop(): Promise<void>;
}

export async function startSyncdesk(env: Env, options: StartOptions): Promise<Syncdesk> {
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  const closers: { name: string; close: () => Promise<unknown> }[] = [];
  const stop = async () => {
    for (const closer of closers.reverse()) {
      try {
        await closer.close();
      } catch (error) {
        logger.warn({ err: error, component: closer.name }, "error while stopping");
      }
    }
    closers.length = 0;
  };

  try {
    const routingText =
      options.routing || options.routingFile === false
        ? null
        : await readCheckedRoutingFile(env.ROUTING_FILE);
    await ensureDatabase(env.DATABASE_URL);
    await migrateDatabase(env.DATABASE_URL);
    const database = connectDatabase(env.DATABASE_URL);
    closers.push({ name: "postgres", close: database.close });
    // Version 1 from the file on first start; a changed file becomes a proposal (watch below).
    const versioned = options.routing
      ? null
      : await startVersionedRouting({
          database,
          logger,
          now: (options.clock ?? systemClock).now(),
          pollMs: env.ROUTING_POLL_MS,
          file: routingText === null ? null : { path: env.ROUTING_FILE, text: routingText },
        });
    const routing = options.routing ?? (versioned?.source as RoutingSource);
    const redis = createRedis(
      env.REDIS_URL,
      `syncdesk:${env.QUEUE_PREFIX}:${options.roles.join("+") || "none"}:${process.pid}`,
    );
    closers.push({ name: "redis", close: () => redis.quit() });
    const queues = createQueues(
      redis,
      { prefix: env.QUEUE_PREFIX, failures: env.FAILURE_QUEUE, outcomes: env.OUTCOME_QUEUE },
      logger,
    );
    closers.push({ name: "queues", close: queues.close });
    const unwatchQueues = watchQueueDepth(() => [
      queues.failures,
      queues.outcomes,
      queues.internal,
    ]);
    closers.push({ name: "metrics", close: async () => unwatchQueues() });
    if (versioned) closers.push({ name: "routing", close: versioned.close });
    // The one way out to Slack: paced per method and channel across replicas (Redis), 429s
    // honoured per bucket, 5xx/network errors retried. Bolt's clients use it too.
    const outbound = createSlackOutbound({
      token: env.SLACK_BOT_TOKEN,
      apiUrl: env.SLACK_API_URL,
      redis,
      prefix: env.QUEUE_PREFIX,
      logger,
      metrics: promSlackMetrics(registry),
      limits: withLimits({
        ...options.slackLimits,
        ...(options.slackRetries !== undefined ? { retries: options.slackRetries } : {}),
      }),
    });
    const slack = outbound.client;
    const clock = options.clock ?? systemClock;
    const deps: Deps = {
      db: database.db,
      queues,
      slack,
      directory: createDirectory(slack, logger),
      logger,
      clock,
      routing,
      approvalsChannel: env.APPROVALS_CHANNEL,
      cardDecorators: [slaCardDecorator({ routing, clock })],
    };

    deps.storms = createStormDesk(deps, {
      threshold: env.STORM_THRESHOLD,
      windowMs: env.STORM_WINDOW,
      retryIntervalMs: env.STORM_RETRY_INTERVAL_MS,
    });
    // Cards posted before their storm formed say they belong to it.
    deps.cardDecorators = [...(deps.cardDecorators ?? []), stormMemberLine];

    // Sweeps orphaned exceptions and proposes a changed routing file, once deps are complete.
    versioned?.watch(deps);
    let app: App | null = null;
    let port: number | null = null;
    if (options.roles.includes("worker")) {
      const workers = await startWorkers(deps, {
        retryPollMs: env.RETRY_POLL_MS,
        slaSweepMs: env.SLA_SWEEP_MS,
        lockMs: env.QUEUE_LOCK_MS,
        intakeSweepMs: env.INTAKE_SWEEP_MS,
        jobConcurrency: env.JOB_CONCURRENCY,
        deliveries: { flushMs: env.DELIVERY_FLUSH_MS, concurrency: env.OUTCOME_CONCURRENCY },
        digest: { cron: env.DIGEST_CRON, tz: env.DIGEST_TZ },
      });
      // Stopped together, so every queue stops taking jobs at once and the drain is bounded once.
      closers.push({ name: "workers", close: workers.close });
      const { cardWindowMs, ...relaySettings } = options.slackOutbox ?? {};
      const relay = await startOutboxRelay({
        db: database.db,
        sql: database.sql,
        redis,
        prefix: env.QUEUE_PREFIX,
        logger,
        handlers: {
          ...cardOutboxHandlers(deps, {
            windowMs: cardWindowMs,
            subjects: {
              rejected_event: rejectedCardBinding(deps.db),
              routing_version: approvalCardBinding(deps),
              digest_delivery: digestDeliveryBinding(deps.db),
              delivery_rejections: rejectionsCardBinding(deps.db),
            },
          }),
          storm_card: stormCardHandler(deps, cardWindowMs),
        },
        // A lane's lease is the outbox's job lock: a worker that dies holding one (SIGKILL, OOM)
        // leaves its cards unposted until the lease runs out, so it expires with the job locks.
        settings: { leaseMs: env.QUEUE_LOCK_MS, ...relaySettings },
      });
      closers.push({ name: "slack-outbox", close: () => relay.close() });
    }
    if (options.roles.includes("web")) {
      app = await createSlackApp({
        token: env.SLACK_BOT_TOKEN,
        signingSecret: env.SLACK_SIGNING_SECRET,
        appToken: env.SLACK_APP_TOKEN,
        slackApiUrl: env.SLACK_API_URL,
        clientOptions: outbound.clientOptions,
        logger,
        health: async () => {
          await database.sql`select 1`;
          return (await redis.ping()) === "PONG";
        },
        extraRoutes: [{ path: "/metrics", handler: serveMetrics }],
        guardRequests: slackRequestGuard(deps, { signingSecret: env.SLACK_SIGNING_SECRET }),
        maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      });
      registerEventDedupe(app, deps);
      registerExceptionListeners(app, deps);
      registerRejectedListeners(app, deps);
      registerInventoryCommand(app, deps);
      registerStormListeners(app, deps);
      registerRoutingListeners(app, deps);
      registerReassignListeners(app, deps);
      registerSlaListeners(app, deps);
      const started = (await app.start(env.PORT)) as Server | undefined;
      const address = started?.address?.();
      port = address && typeof address === "object" ? (address as AddressInfo).port : env.PORT;
      const running = app;
      closers.push({ name: "bolt", close: () => running.stop() });
    }
    logger.info({ roles: options.roles, port }, "syncdesk started");
    return { deps, app, port, slackStats: outbound.stats, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startWorkers(
  deps: Deps,
  settings: {
    retryPollMs: number;
    lockMs: number;
    intakeSweepMs: number;
    slaSweepMs: number;
    /** Internal jobs (SLA timers, cards, storms, Home) one worker process runs at once. */
    jobConcurrency: number;
    digest: { cron: string; tz: string };
    /** Delivery figures (src/deliveries): flush interval, outcome jobs held at once. */
    deliveries: { flushMs: number; concurrency: number };
  },
): Promise<{ close(): Promise<void> }> {
  const { queues, logger } = deps;
  const common = {
    connection: queues.connection,
    prefix: queues.prefix,
    logger,
    lockMs: settings.lockMs,
  };
  const deliveries = startDeliveryDesk(deps, { flushMs: settings.deliveries.flushMs });
  const failures = startWorker(
    queues.failures.name,
    async (job: Job) => {
      const result = await ingestFailure(deps, {
        id: job.id ?? `${job.name}-${job.timestamp}`,
        data: job.data,
      });
      countIntake("failures", result.kind);
      // A rejection's card was queued in the outbox with the rejection.
      if (result.kind !== "rejected") {
        exceptionLogger(logger, result.exceptionId, job.data).info(
          { jobId: job.id, result: result.kind },
          "failure event taken in",
        );
        // The SLA clock starts at opening, card or no card.
        if (result.kind === "opened" || result.kind === "reopened")
          await armSla(deps, result.exceptionId);
        await postOrDefer(deps, { exceptionId: result.exceptionId });
        // After the card: a failed delivery of its pipeline (a repeat job counts once).
        await deliveries.failureSeen(job.data);
      }
      return result.kind;
    },
    common,
  );
  const outcomes = startWorker(
    queues.outcomes.name,
    async (job: Job) => {
      const result = await deliveries.handleOutcomeJob({
        id: job.id ?? `${job.name}-${job.timestamp}`,
        data: job.data,
      });
      countIntake("outcomes", result);
      return result;
    },
    // Each job waits for the flush holding its deliveries: hold many at once.
    { ...common, concurrency: settings.deliveries.concurrency },
  );
  const handlers = internalJobHandlers(deps);
  const internal = startWorker(
    INTERNAL_QUEUE,
    async (job: Job) => {
      const name = job.name as JobName;
      const entry = jobCatalog[name];
      if (!entry) throw new UnrecoverableError(`unknown job ${job.name}`);
      const parsed = entry.schema.safeParse(job.data);
      if (!parsed.success)
        throw new UnrecoverableError(`bad payload for ${job.name}: ${parsed.error.message}`);
      const handle = handlers[name] as (data: unknown, job: Job) => Promise<unknown>;
      return handle(parsed.data, job);
    },
    { ...common, concurrency: settings.jobConcurrency },
  );
  const schedule = async () => {
    await queues.internal.upsertJobScheduler(
      "intake-sweep",
      { every: settings.intakeSweepMs },
      {
        name: "intake.sweep",
        data: { baseDelayMs: settings.intakeSweepMs },
        opts: { removeOnComplete: true, removeOnFail: 100 },
      },
    );
    await queues.internal.upsertJobScheduler(
      "retries-reconcile",
      { every: settings.retryPollMs },
      { name: "retries.reconcile", data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
    await queues.internal.upsertJobScheduler(
      "sla-sweep",
      { every: settings.slaSweepMs },
      { name: "sla.sweep", data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
    await scheduleDigest(queues, settings.digest);
  };
  await schedule();
  // The schedulers live in Redis. One restarted without its data (no append-only file, a
  // failover to an empty replica) would keep the workers running with no SLA sweeper, no
  // intake sweeper and no retry reconcile until the next deploy: every lost timer stays lost.
  // So each reconnect schedules them again; upserting an existing scheduler changes nothing.
  const reschedule = () => {
    schedule().catch((error: unknown) => {
      logger.error({ err: error }, "could not schedule the sweepers again after a reconnect");
    });
  };
  queues.connection.on("ready", reschedule);
  const workers = [failures, outcomes, internal];
  return {
    close: async () => {
      queues.connection.off("ready", reschedule);
      await Promise.all(workers.map((worker) => worker.close()));
      await deliveries.close();
    },
  };
}

/** What each catalogued internal job does. */
function internalJobHandlers(deps: Deps): {
  [N in JobName]: (data: JobData<N>, job: Job) => Promise<unknown>;
} {
  return {
    "retries.reconcile": () => reconcileRetries(deps),
    "intake.sweep": (data) => sweepFailedIntake(deps, data),
    "cards.sync": (data) => syncCard(deps, data.exceptionId),
    "rejections.post": (data) => queueRejectedCardFor(deps.db, data.rejectedId),
    ...stormJobHandlers(deps),
    "sla.step": (data) => fireSlaStep(deps, data),
    "sla.sweep": () => sweepSla(deps),
    "home.fanout": (data) => fanOutHome(deps, data.role),
    "home.refresh": (data) => refreshHomeJob(deps, data.userId),
    "digest.send": (_data, job) => sendDigest(deps, digestKey(job)),
  };
}

/**
 * Cards are posted after the row is committed. If Slack fails now, the intake job must not
 * fail (a producer's job may allow no retries): the post moves to our own queue, which
 * retries with backoff until Slack answers. Posting is idempotent, so a repeat is harmless.
 */
async function postOrDefer(deps: Deps, data: JobData<"cards.sync">): Promise<void> {
  try {
    await syncCard(deps, data.exceptionId);
  } catch (error) {
    deps.logger.warn({ ...data, err: error }, "Slack post failed; queued for retry");
    await enqueue(deps.queues, "cards.sync", data);
  }
}
