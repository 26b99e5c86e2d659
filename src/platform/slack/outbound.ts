/**
 * Builds the outbound path (transport + Redis buckets + counters) once per process and the
 * WebClient options that route a client through it. `deps.slack` is built from these options,
 * and so are the clients Bolt gives listeners (`createSlackApp({ clientOptions })`), so there
 * is no second way out to Slack.
 */
import {
  type FetchFunction,
  LogLevel,
  WebClient,
  type Logger as WebClientLogger,
  type WebClientOptions,
} from "@slack/web-api";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { createRedisRateLimiter } from "./rate-limiter.js";
import { DEFAULT_SLACK_LIMITS, type SlackLimits } from "./rate-limits.js";
import { createSlackStats, fanOut, type SlackMetrics, type SlackStats } from "./slack-metrics.js";
import { createSlackTransport } from "./transport.js";

export const SLACK_API_URL = "https://slack.com/api/";

export interface SlackOutbound {
  /** The client for `deps.slack`. */
  client: WebClient;
  /** Options for any other WebClient (Bolt's): same transport, same buckets. */
  clientOptions: WebClientOptions;
  /** In-process counts of calls and waits. */
  stats: SlackStats;
}

export interface SlackOutboundOptions {
  token: string;
  apiUrl?: string;
  redis: Redis;
  /** Bucket key prefix; replicas talking to one workspace share it (the queue prefix). */
  prefix: string;
  logger: Logger;
  limits?: SlackLimits;
  /** Extra sink for the counts (e.g. prom-client through promSlackMetrics). */
  metrics?: SlackMetrics;
  /** The HTTP fetch underneath (tests inject connection failures). */
  fetch?: FetchFunction;
}

export function createSlackOutbound(options: SlackOutboundOptions): SlackOutbound {
  const apiUrl = withSlash(options.apiUrl ?? SLACK_API_URL);
  const stats = createSlackStats();
  const transport = createSlackTransport({
    apiUrl,
    limits: options.limits ?? DEFAULT_SLACK_LIMITS,
    limiter: createRedisRateLimiter({
      redis: options.redis,
      prefix: options.prefix,
      logger: options.logger,
    }),
    logger: options.logger,
    metrics: options.metrics ? fanOut(stats, options.metrics) : stats,
    fetch: options.fetch,
  });
  const clientOptions: WebClientOptions = {
    slackApiUrl: apiUrl,
    fetch: transport,
    // The transport retries and honours 429 per bucket; the client must not add its own
    // (it would retry for 30 minutes and pause every call on any 429).
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    // Calls waiting for their bucket sit in the client's queue; one busy channel must not
    // hold back calls to the others.
    maxRequestConcurrency: 1000,
  };
  const client = new WebClient(options.token, {
    ...clientOptions,
    logger: quietLogger(options.logger.child({ component: "web-api" })),
  });
  return { client, clientOptions, stats };
}

/** WebClient's own log lines repeat what the transport logs with more context: keep them at debug. */
function quietLogger(logger: Logger): WebClientLogger {
  const join = (parts: unknown[]) => parts.map(String).join(" ");
  let level = LogLevel.INFO;
  return {
    debug: (...msg) => logger.debug(join(msg)),
    info: (...msg) => logger.debug(join(msg)),
    warn: (...msg) => logger.debug(join(msg)),
    error: (...msg) => logger.error(join(msg)),
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}
