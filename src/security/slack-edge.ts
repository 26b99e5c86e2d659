/**
 * Wires the HTTP edge to Redis and the audit trail: remembered signatures and event ids live
 * under the queue prefix so every web replica shares them, and each refused request becomes
 * an audit row (source `http`), up to a per-minute cap so a flood cannot fill the table.
 */
import type { App } from "@slack/bolt";
import type { Deps } from "../app/deps.js";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.js";
import { metrics } from "../platform/metrics.js";
import { guardSlackRequests, type RequestRejection } from "./request-guard.js";

/** Rejections recorded per minute across replicas; the rest are only counted and logged once. */
export const REJECTIONS_RECORDED_PER_MINUTE = 100;
/** How long a delivered event id is remembered; Slack retries within minutes. */
const EVENT_MEMORY_SEC = 3600;
/** Slack wants an answer within 3 s: Redis gets half of that before we give up. */
const REDIS_TIMEOUT_MS = 1500;

type EdgeDeps = Pick<Deps, "db" | "queues" | "logger" | "clock">;

const edgeKey = (deps: EdgeDeps, ...parts: string[]) =>
  [deps.queues.prefix, "syncdesk-edge", ...parts].join(":");

export function slackRequestGuard(
  deps: EdgeDeps,
  options: { signingSecret: string; maxBodyBytes?: number },
) {
  const redis = deps.queues.connection;
  return guardSlackRequests({
    signingSecret: options.signingSecret,
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
    logger: deps.logger,
    firstSighting: async (signature, ttlMs) => {
      const set = redis.set(edgeKey(deps, "sig", signature), "1", "PX", ttlMs, "NX");
      return (await withTimeout(set, REDIS_TIMEOUT_MS)) === "OK";
    },
    onRejected: (rejection) => {
      recordRejectedRequest(deps, rejection).catch((error: unknown) =>
        deps.logger.error({ err: error, rejection }, "could not record a refused request"),
      );
    },
    onAnswered: (status, seconds) => metrics.slackAcks.observe({ status: String(status) }, seconds),
  });
}

export async function recordRejectedRequest(
  deps: EdgeDeps,
  rejection: RequestRejection,
): Promise<void> {
  const now = deps.clock.now();
  const key = edgeKey(deps, "rejections", String(Math.floor(now.getTime() / 60_000)));
  const redis = deps.queues.connection;
  const count = await withTimeout(
    redis
      .multi()
      .incr(key)
      .expire(key, 120)
      .exec()
      .then((replies) => Number(replies?.[0]?.[1] ?? 0)),
    REDIS_TIMEOUT_MS,
  ).catch(() => 0); // without Redis there is no cap, and the row is still written
  if (count > REJECTIONS_RECORDED_PER_MINUTE) {
    if (count === REJECTIONS_RECORDED_PER_MINUTE + 1)
      deps.logger.warn(
        { limit: REJECTIONS_RECORDED_PER_MINUTE },
        "many refused Slack requests this minute; further ones are not recorded",
      );
    return;
  }
  deps.logger.warn({ rejection }, "refused a request to the Slack endpoint");
  await recordAudit(deps.db, {
    actor: SYSTEM_ACTOR,
    source: "http",
    action: "request_rejected",
    details: { ...rejection },
    at: now,
  });
}

/**
 * Slack retries an event it thinks was not delivered (`X-Slack-Retry-Num`), with a new
 * signature. Listeners run once per `event_id`: a retry is acked (Bolt acks events before
 * middleware) and skipped. If the listeners fail, the id is forgotten so a retry can run them.
 */
export function registerEventDedupe(app: App, deps: Pick<EdgeDeps, "queues" | "logger">): void {
  app.use(async ({ body, next, context }) => {
    const eventId = eventIdOf(body);
    if (!eventId) return next();
    const key = [deps.queues.prefix, "syncdesk-edge", "event", eventId].join(":");
    const redis = deps.queues.connection;
    let first = true;
    try {
      const set = redis.set(key, "1", "EX", EVENT_MEMORY_SEC, "NX");
      first = (await withTimeout(set, REDIS_TIMEOUT_MS)) === "OK";
    } catch (error) {
      // Without Redis, handling an event twice beats dropping it.
      deps.logger.warn({ err: error, eventId }, "could not check event id; handling it anyway");
    }
    if (!first) {
      deps.logger.info({ eventId, retryNum: context.retryNum }, "event already handled; skipped");
      return;
    }
    try {
      await next();
    } catch (error) {
      await redis.del(key).catch(() => {});
      throw error;
    }
  });
}

function eventIdOf(body: unknown): string | null {
  if (!body || typeof body !== "object") return null;
  const { type, event_id: id } = body as { type?: unknown; event_id?: unknown };
  if (type !== "event_callback" || typeof id !== "string" || id.length === 0) return null;
  return id.slice(0, 100);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
