/**
 * The composition root as a function: env -> deps -> Bolt app and workers, and a stop() that
 * closes them in reverse order. main.ts, the demo and the integration tests all start the bot
 * through here, so what is tested is what runs.
 */

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { App } from "@slack/bolt";
import { type Closer, createDeps } from "./app/create-deps.js";
import type { Deps } from "./app/deps.js";
import { startWorkers } from "./app/workers.js";
import { rejectionsCardBinding } from "./deliveries/rejections.js";
import type { Env } from "./env.js";
import { cardOutboxHandlers } from "./exceptions/cards.js";
import { registerExceptionListeners } from "./exceptions/exceptions.slack.js";
import { registerReassignListeners } from "./exceptions/reassign.slack.js";
import { registerRejectedListeners, rejectedCardBinding } from "./intake/rejected.js";
import { rejectionCardHandler } from "./intake/rejection-groups.js";
import { digestDeliveryBinding } from "./inventory/digest.job.js";
import { registerInventoryCommand } from "./inventory/inventory.slack.js";
import type { Clock } from "./platform/clock.js";
import { ensureDatabase, migrateDatabase } from "./platform/db/db.js";
import { createLogger, type Logger } from "./platform/logger.js";
import { createOps, listenOps, postgresCheck, redisCheck } from "./platform/ops/ops-server.js";
import { createSlackApp } from "./platform/slack/app.js";
import { type OutboxRelaySettings, startOutboxRelay } from "./platform/slack/outbox-relay.js";
import type { SlackLimits } from "./platform/slack/rate-limits.js";
import type { SlackStats } from "./platform/slack/slack-metrics.js";
import { connectionSecurity } from "./platform/tls.js";
import { startTracing } from "./platform/tracing.js";
import { httpIntakeRoutes } from "./producers/http-intake.js";
import { registerRepublishListener } from "./recon/republish.slack.js";
import { retentionFromEnv } from "./retention/retention.schedule.js";
import type { RoutingSource } from "./routing/active-routing.js";
import { approvalCardBinding } from "./routing/approval-card.service.js";
import { registerRoutingListeners } from "./routing/routes.slack.js";
import { readCheckedRoutingFile } from "./routing/routing-source.js";
import { auditRejections, registerEventDedupe } from "./security/slack-edge.js";
import { registerSlaListeners } from "./sla/sla.slack.js";
import { slaCardDecorator } from "./sla/sla-messages.js";
import { stormMemberLine } from "./storms/storm-card.js";
import { stormCardHandler } from "./storms/storm-cards.js";
import { registerStormListeners } from "./storms/storms.slack.js";

/**
 * `web`: the HTTP edge (Slack, producers, health) and, while no `clicks` process runs, the
 * clicks' work. `clicks`: only the work of recorded clicks (no HTTP server). `worker`: the
 * queues, timers and the Slack outbox.
 */
export type ProcessRole = "web" | "clicks" | "worker";

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
  slackOutbox?: Partial<OutboxRelaySettings> & {
    cardWindowMs?: number;
    /** Redraws of a rejection card at most this often (default REJECTION_CARD_EVERY_MS). */
    rejectionWindowMs?: number;
  };
  /** Where spans go when the OTEL_* settings turn tracing on, instead of OTLP (tests). */
  spanExporter?: SpanExporter;
}

export interface Syncdesk {
  deps: Deps;
  app: App | null;
  /** The HTTP port Bolt listens on (web role, HTTP mode). */
  port: number | null;
  /** The port of /livez, /readyz and /metrics when METRICS_PORT is set (0 picks a free one). */
  opsPort: number | null;
  /** This process's Slack Web API calls and waits, as the outbound path counted them. */
  slackStats: SlackStats;
  stop(): Promise<void>;
}

export async function startSyncdesk(env: Env, options: StartOptions): Promise<Syncdesk> {
  const web = options.roles.includes("web");
  const clicks = options.roles.includes("clicks");
  if (clicks && env.SLACK_APP_TOKEN)
    throw new Error(
      "The clicks role is for HTTP mode: in Socket Mode (SLACK_APP_TOKEN set) clicks reach the web process over its socket, and it does them. Run web and worker only.",
    );
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  const closers: Closer[] = [];
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
    // First in, last out: the spans of everything closed before it are exported at stop().
    const tracing = startTracing(
      env,
      options.spanExporter ? { exporter: options.spanExporter } : {},
    );
    if (tracing) closers.push({ name: "tracing", close: tracing.shutdown });
    const routingText =
      options.routing || options.routingFile === false
        ? null
        : await readCheckedRoutingFile(env.ROUTING_FILE);
    // TLS to managed Postgres and Redis: src/platform/tls.ts.
    const security = connectionSecurity(env);
    await ensureDatabase(env.DATABASE_URL, { ssl: security.postgres });
    await migrateDatabase(env.DATABASE_URL, { ssl: security.postgres });
    const { deps, database, redis, outbound, versioned } = await createDeps(
      env,
      {
        logger,
        security,
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.routing ? { routing: options.routing } : {}),
        routingText,
        connectionName: `syncdesk:${env.QUEUE_PREFIX}:${options.roles.join("+") || "none"}:${process.pid}`,
        ...(options.slackRetries !== undefined ? { slackRetries: options.slackRetries } : {}),
        ...(options.slackLimits ? { slackLimits: options.slackLimits } : {}),
        ...(tracing ? { telemetry: tracing.telemetry } : {}),
      },
      closers,
    );
    // Ops endpoints (/livez, /readyz, /metrics): src/platform/ops/ops-server.ts.
    const ops = createOps({
      checks: [postgresCheck(database.sql), redisCheck(redis)],
      metricsToken: env.METRICS_TOKEN,
    });
    // Sweeps orphaned exceptions and proposes a changed routing file.
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
        intakeConcurrency: env.INTAKE_CONCURRENCY,
        deliveries: {
          flushMs: env.DELIVERY_FLUSH_MS,
          concurrency: env.OUTCOME_CONCURRENCY,
          maxBacklog: env.DELIVERY_WAL_MAX_RECORDS,
          stageMs: env.DELIVERY_STAGE_MS,
        },
        gates: { sweepMs: env.GATE_SWEEP_MS, minDeliveries: env.GATE_MIN_DELIVERIES },
        digest: { cron: env.DIGEST_CRON, tz: env.DIGEST_TZ },
        retention: retentionFromEnv(env),
        recon: {
          concurrency: env.SNAPSHOT_CONCURRENCY,
          cron: env.RECON_CRON,
          tz: env.DIGEST_TZ,
          windowMs: env.RECON_WINDOW,
        },
      });
      // Stopped together, so every queue stops taking jobs at once and the drain is bounded once.
      closers.push({ name: "workers", close: workers.close });
      ops.addCheck({ name: "workers", check: async () => workers.assertRunning() });
      const { cardWindowMs, rejectionWindowMs, ...relaySettings } = options.slackOutbox ?? {};
      const relay = await startOutboxRelay({
        db: database.db,
        sql: database.sql,
        redis,
        prefix: env.QUEUE_PREFIX,
        logger,
        handlers: {
          ...cardOutboxHandlers(deps, {
            windowMs: cardWindowMs,
            // Every card says its SLA standing, and a member carded before its storm formed
            // says it belongs to the storm.
            decorators: [slaCardDecorator(deps), stormMemberLine],
            subjects: {
              rejected_event: rejectedCardBinding(deps.db),
              routing_version: approvalCardBinding(deps),
              digest_delivery: digestDeliveryBinding(deps.db),
              delivery_rejections: rejectionsCardBinding(deps.db),
            },
          }),
          storm_card: stormCardHandler(deps, cardWindowMs),
          rejection_card: rejectionCardHandler(deps, rejectionWindowMs),
        },
        // A lane's lease is the outbox's job lock: a worker that dies holding one (SIGKILL, OOM)
        // leaves its cards unposted until the lease runs out, so it expires with the job locks.
        settings: { leaseMs: env.QUEUE_LOCK_MS, ...relaySettings },
      });
      closers.push({ name: "slack-outbox", close: () => relay.close() });
    }
    if (web || clicks) {
      const slack = await createSlackApp({
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
        extraRoutes: web
          ? [
              // Without METRICS_PORT the ops endpoints stay beside /slack/events, as before.
              ...(env.METRICS_PORT === undefined ? ops.routes : []),
              // POST /v1/events and /v1/openapi.json: producers' tokens, not Slack's signature.
              ...httpIntakeRoutes(deps, {
                maxBodyBytes: env.PRODUCER_MAX_BODY_BYTES,
                rate: { perSecond: env.PRODUCER_RATE_PER_SEC, burst: env.PRODUCER_BURST },
              }),
            ]
          : [],
        // The receiver's replay memory and acked clicks (queue `slack-clicks`) live in Redis.
        edge: {
          redis,
          prefix: env.QUEUE_PREFIX,
          onRejected: auditRejections(deps),
          clicks: {
            lockMs: env.QUEUE_LOCK_MS,
            // A process that has both roles does clicks whatever else runs.
            work: clicks ? "dedicated" : "shared",
            ...(tracing ? { telemetry: tracing.telemetry } : {}),
          },
        },
      });
      app = slack.app;
      registerListeners(app, deps);
      if (web) {
        const started = (await app.start(env.PORT)) as Server | undefined;
        const address = started?.address?.();
        port = address && typeof address === "object" ? (address as AddressInfo).port : env.PORT;
        const running = app;
        closers.push({ name: "bolt", close: () => running.stop() });
      } else if (slack.receiver) {
        const receiver = slack.receiver;
        closers.push({ name: "clicks", close: () => receiver.stop() });
        await receiver.startClickWork();
      }
    }
    let opsPort: number | null = null;
    if (env.METRICS_PORT !== undefined) {
      const server = await listenOps(ops.routes, env.METRICS_PORT);
      opsPort = server.port;
      closers.push({ name: "ops", close: server.close });
    }
    logger.info({ roles: options.roles, port, opsPort }, "syncdesk started");
    return { deps, app, port, opsPort, slackStats: outbound.stats, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Each feature's Slack listeners (`register…(app, deps)`), event dedupe first. */
function registerListeners(app: App, deps: Deps): void {
  registerEventDedupe(app, deps);
  registerExceptionListeners(app, deps);
  registerRejectedListeners(app, deps);
  registerInventoryCommand(app, deps);
  registerStormListeners(app, deps);
  registerRoutingListeners(app, deps);
  registerReassignListeners(app, deps);
  registerSlaListeners(app, deps);
  registerRepublishListener(app, deps);
}
