/**
 * Builds `Deps` once, whole, and never changes it afterwards: connections (Postgres, Redis,
 * the paced Slack client), the routing a process acts on, the storm desk, and the hooks the
 * exception seam runs (SLA deadline and timers, storm card, Home tabs). Starts nothing: no
 * migration, no worker, no HTTP. `startSyncdesk` adds the roles; the routes CLI uses it as is.
 */
import type { Telemetry } from "bullmq";
import type { Redis } from "ioredis";
import type { Env } from "../env.js";
import type { ExceptionEffects } from "../exceptions/effects.js";
import { homesAfterChanges } from "../inventory/home.service.js";
import { redrawMineList } from "../inventory/mine-redraw.js";
import { type Clock, systemClock } from "../platform/clock.js";
import { connectDatabase, type Database } from "../platform/db/db.js";
import type { Logger } from "../platform/logger.js";
import { registry, watchQueueDepth } from "../platform/metrics.js";
import { createQueues } from "../platform/queue/queues.js";
import { connectRedis } from "../platform/queue/redis.js";
import { createDirectory } from "../platform/slack/directory.js";
import { createSlackOutbound, type SlackOutbound } from "../platform/slack/outbound.js";
import { type SlackLimits, withLimits } from "../platform/slack/rate-limits.js";
import { promSlackMetrics } from "../platform/slack/slack-metrics.js";
import { type ConnectionSecurity, connectionSecurity } from "../platform/tls.js";
import type { RoutingSource } from "../routing/active-routing.js";
import { startVersionedRouting, type VersionedRouting } from "../routing/routing-source.js";
import { nextDeadlineOf } from "../sla/exception-sla.js";
import { armAfterChanges } from "../sla/sla-timers.js";
import { createStormDesk } from "../storms/storm-desk.js";
import type { Deps } from "./deps.js";

export interface DepsOptions {
  logger: Logger;
  clock?: Clock;
  /** Fixed routing instead of the versions in Postgres (no review gate, no hot reload). */
  routing?: RoutingSource;
  /** The routing file's checked text, to bootstrap or propose from; null leaves it alone. */
  routingText?: string | null;
  /** Names this process's Redis connection (roles, pid). */
  connectionName?: string;
  /** Web API retries of 5xx/network errors within one call; tests that assert on failures set 0. */
  slackRetries?: number;
  /** Slack rate limits (per method rules, backoff); tests make them fast. */
  slackLimits?: Partial<SlackLimits>;
  /** TLS to Postgres and Redis as the settings say (read from env when not given). */
  security?: ConnectionSecurity;
  /** BullMQ's OpenTelemetry hooks for every queue (src/platform/tracing.ts); unset = off. */
  telemetry?: Telemetry;
}

/** What was built beside `deps`, for the roles to start on, and a LIFO close. */
export interface Built {
  deps: Deps;
  database: Database;
  redis: Redis;
  outbound: SlackOutbound;
  /** The versions in Postgres (null with fixed routing): `watch(deps)` sweeps and proposes. */
  versioned: VersionedRouting | null;
}

export interface Closer {
  name: string;
  close: () => Promise<unknown>;
}

/**
 * `closers` receives each thing built, in order, so the caller can close them in reverse even
 * when a later step fails.
 */
export async function createDeps(
  env: Env,
  options: DepsOptions,
  closers: Closer[],
): Promise<Built> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const security = options.security ?? connectionSecurity(env);
  const database = connectDatabase(env.DATABASE_URL, { ssl: security.postgres });
  closers.push({ name: "postgres", close: database.close });
  // Version 1 from the file on first start; a changed file becomes a proposal (watch).
  const versioned = options.routing
    ? null
    : await startVersionedRouting({
        database,
        logger,
        now: clock.now(),
        pollMs: env.ROUTING_POLL_MS,
        file:
          options.routingText == null
            ? null
            : { path: env.ROUTING_FILE, text: options.routingText },
      });
  const routing: RoutingSource = options.routing ?? (versioned as VersionedRouting).source;
  const redis = connectRedis(
    { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES, prefix: env.QUEUE_PREFIX },
    options.connectionName,
    security.redis,
  );
  closers.push({ name: "redis", close: () => redis.quit() });
  const queues = createQueues(
    redis,
    {
      prefix: env.QUEUE_PREFIX,
      failures: env.FAILURE_QUEUE,
      outcomes: env.OUTCOME_QUEUE,
      snapshots: env.SNAPSHOT_QUEUE,
    },
    logger,
    options.telemetry,
  );
  closers.push({ name: "queues", close: queues.close });
  const unwatchQueues = watchQueueDepth(() => [
    queues.failures,
    queues.outcomes,
    queues.snapshots,
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
  const db = database.db;
  const storms = createStormDesk(
    { queues, clock },
    {
      threshold: env.STORM_THRESHOLD,
      windowMs: env.STORM_WINDOW,
      retryIntervalMs: env.STORM_RETRY_INTERVAL_MS,
    },
  );
  const core = { db, queues, logger, clock, routing };
  // The exception seam's hooks (src/exceptions/change.ts): the deadline it writes with each
  // change, the storm card it redraws in the change's transaction, and what follows a commit.
  // The list redraw reads with the finished deps; it is only called once they exist.
  let built: Deps | undefined;
  const exceptionEffects: ExceptionEffects = {
    redrawList: async (userId, blockId) => (built ? redrawMineList(built, userId, blockId) : null),
    nextDeadline: (row, config) => nextDeadlineOf(config ?? routing.current().config, row),
    stormChanged: storms.memberChanged,
    afterCommit: [
      (changes) => armAfterChanges(core, changes),
      (changes) => homesAfterChanges(core, changes),
    ],
  };
  const deps: Deps = Object.freeze({
    ...core,
    slack,
    directory: createDirectory(slack, logger),
    storms,
    exceptionEffects,
    recon: { windowMs: env.RECON_WINDOW },
    ...(env.APPROVALS_CHANNEL ? { approvalsChannel: env.APPROVALS_CHANNEL } : {}),
    ...(env.CONTRACT_DOCS_URL ? { contractDocsUrl: env.CONTRACT_DOCS_URL } : {}),
  });
  built = deps;
  return { deps, database, redis, outbound, versioned };
}
