/**
 * The one outbound path to Slack's Web API. It is a `fetch` for @slack/web-api's WebClient
 * (`clientOptions.fetch`), so every client the process builds goes through it: `deps.slack`
 * and the clients Bolt hands to listeners alike. For each API request it
 *  - books a slot in the method's (and channel's) rate-limit buckets and waits for it,
 *  - on 429 pauses those buckets for Retry-After (others carry on) and tries again,
 *  - retries 5xx answers and network errors with backoff, except a network error that may
 *    have reached Slack on a call that is not idempotent (a blind repeat could post twice:
 *    the outbox reconciles those instead),
 *  - counts calls and waits.
 * Anything else (response_url posts, file upload URLs) passes straight through.
 * WebClient must be built with `retryConfig: { retries: 0 }` and `rejectRateLimitedCalls`, so
 * this is the only layer that retries and no client pauses its whole queue on a 429.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { FetchFunction } from "@slack/web-api";
import type { Logger } from "../logger.js";
import type { RateLimiter } from "./rate-limiter.js";
import {
  backoffDelay,
  bucketsFor,
  bucketsToPause,
  isIdempotent,
  parseRetryAfter,
  type SlackLimits,
} from "./rate-limits.js";
import type { SlackMetrics } from "./slack-metrics.js";

type FetchRequestInit = NonNullable<Parameters<FetchFunction>[1]>;
type FetchResponse = Awaited<ReturnType<FetchFunction>>;

export interface SlackTransportOptions {
  /** The Web API base URL the clients use (ends with `/`). */
  apiUrl: string;
  limits: SlackLimits;
  limiter: RateLimiter;
  logger: Logger;
  metrics: SlackMetrics;
  fetch?: FetchFunction;
}

/** Connection failures that happen before a request is sent: safe to repeat for any method. */
const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "ENETUNREACH",
  "EHOSTUNREACH",
]);

export function createSlackTransport(options: SlackTransportOptions): FetchFunction {
  const { apiUrl, limits, limiter, metrics } = options;
  const logger = options.logger.child({ component: "slack-transport" });
  const send: FetchFunction = options.fetch ?? (globalThis.fetch as unknown as FetchFunction);

  return async (url: string | URL, init?: FetchRequestInit): Promise<FetchResponse> => {
    const href = String(url);
    if (!href.startsWith(apiUrl)) return send(url, init);
    const method = href.slice(apiUrl.length).split("?")[0] ?? "";
    const buckets = bucketsFor(limits, method, channelOf(init?.body));
    const signal = init?.signal;
    let failures = 0;
    let limited = 0;

    for (;;) {
      // Wait for a slot; if a 429 paused the buckets meanwhile, wait that out and book again.
      for (;;) {
        const wait = await limiter.reserve(buckets);
        if (wait <= 0) break;
        metrics.waited(method, "pace", wait);
        await delay(wait, undefined, { signal });
        const paused = await limiter.pausedFor(bucketsToPause(buckets));
        if (paused <= 0) break;
        metrics.waited(method, "retry_after", paused);
        await delay(paused, undefined, { signal });
      }

      let response: FetchResponse;
      try {
        response = await send(url, init);
      } catch (error) {
        metrics.called(method, "network_error");
        if (signal?.aborted) throw error;
        const repeatable = isIdempotent(method) || NOT_SENT.has(errorCode(error) ?? "");
        failures += 1;
        if (!repeatable || failures > limits.retries) throw error;
        const wait = backoffDelay(failures, limits);
        logger.warn({ method, attempt: failures, wait, err: error }, "Slack unreachable; retrying");
        metrics.waited(method, "backoff", wait);
        await delay(wait, undefined, { signal });
        continue;
      }

      if (response.status === 429) {
        metrics.called(method, "rate_limited");
        const retryAfterMs = (parseRetryAfter(response.headers.get("retry-after")) ?? 1) * 1000;
        await limiter.pause(bucketsToPause(buckets), retryAfterMs);
        limited += 1;
        if (limited > limits.rateLimitedRetries) return response;
        await discard(response);
        logger.info({ method, retryAfterMs }, "Slack rate limited this call; waiting");
        metrics.waited(method, "retry_after", retryAfterMs);
        await delay(retryAfterMs, undefined, { signal });
        continue;
      }

      if (response.status >= 500) {
        metrics.called(method, "server_error");
        failures += 1;
        if (failures > limits.retries) return response;
        await discard(response);
        const wait = backoffDelay(failures, limits);
        logger.warn({ method, status: response.status, wait }, "Slack server error; retrying");
        metrics.waited(method, "backoff", wait);
        await delay(wait, undefined, { signal });
        continue;
      }

      metrics.called(method, "ok");
      return response;
    }
  };
}

/** The `channel` argument of a Web API request body (form-encoded as WebClient sends it). */
export function channelOf(body: FetchRequestInit["body"]): string | undefined {
  if (typeof body !== "string") return undefined;
  if (body.startsWith("{")) {
    try {
      const channel = (JSON.parse(body) as { channel?: unknown }).channel;
      return typeof channel === "string" ? channel : undefined;
    } catch {
      return undefined;
    }
  }
  return new URLSearchParams(body).get("channel") ?? undefined;
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

async function discard(response: FetchResponse): Promise<void> {
  await response.arrayBuffer().catch(() => undefined);
}
