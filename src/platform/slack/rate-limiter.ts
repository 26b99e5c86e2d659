/**
 * Rate-limit buckets shared by every replica, in Redis. Each bucket is one key holding a GCRA
 * "theoretical arrival time" (the technique of redis-cell, brandur.org/rate-limiting and
 * inngest's gcra.lua), used as a reservation: instead of refusing a call that is early, the
 * script books the earliest slot that fits every bucket of the call and says how long to wait.
 * Callers that book in turn are spaced at the sustained rate after the burst is spent.
 * Redis TIME is the clock, so replicas with skewed clocks still share one schedule.
 *
 * A 429 pauses the call's buckets (its method, and its channel where the rule is per channel),
 * never the whole app. If Redis does not answer in time the limiter lets the call through:
 * Slack's own 429s still hold us back, and a Redis outage must not stop the desk.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import type { Bucket } from "./rate-limits.js";

export interface RateLimiter {
  /** Books the next slot in every bucket; resolves with the milliseconds to wait before calling. */
  reserve(buckets: Bucket[]): Promise<number>;
  /** Slack answered 429: no call uses these buckets for `ms`. */
  pause(buckets: Bucket[], ms: number): Promise<void>;
  /** Milliseconds the buckets are still paused (0 when not). */
  pausedFor(buckets: Bucket[]): Promise<number>;
}

// KEYS: the buckets' TAT keys. ARGV: interval_1, tolerance_1, interval_2, tolerance_2, ...
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = now
local tats = {}
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  tats[i] = tat
  local allowed = tat - tonumber(ARGV[2 * i])
  if allowed > at then at = allowed end
end
for i = 1, #KEYS do
  local nextTat = math.max(tats[i], at) + tonumber(ARGV[2 * i - 1])
  redis.call('SET', KEYS[i], string.format('%d', nextTat), 'PX', string.format('%d', math.max(1, nextTat - now)))
end
return at - now
`;

// KEYS: TAT keys 1..n, then pause keys 1..n. ARGV: pause_ms, tolerance_1, ..., tolerance_n.
const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local n = #KEYS / 2
for i = 1, n do
  local want = now + ms + tonumber(ARGV[i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if want > tat then
    redis.call('SET', KEYS[i], string.format('%d', want), 'PX', string.format('%d', want - now))
  end
  if redis.call('PTTL', KEYS[n + i]) < ms then
    redis.call('SET', KEYS[n + i], '1', 'PX', string.format('%d', ms))
  end
end
return n
`;

export interface RedisRateLimiterOptions {
  redis: Redis;
  /** Key prefix shared by every replica that talks to the same workspace. */
  prefix: string;
  logger: Logger;
  /** How long to wait for Redis before letting a call through unthrottled. */
  timeoutMs?: number;
}

export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const { redis, prefix, logger } = options;
  const timeoutMs = options.timeoutMs ?? 2000;
  const tatKey = (bucket: Bucket) => `${prefix}:slack:rl:${bucket.key}`;
  const pauseKey = (bucket: Bucket) => `${prefix}:slack:rl:${bucket.key}:pause`;

  const bounded = async <T>(what: string, work: Promise<T>, fallback: T): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(resolve, timeoutMs, "timeout");
      timer.unref();
    });
    try {
      const result = await Promise.race([work, timeout]);
      if (result === "timeout") {
        logger.warn({ what, timeoutMs }, "rate limiter: Redis did not answer; not throttling");
        return fallback;
      }
      return result;
    } catch (error) {
      logger.warn({ what, err: error }, "rate limiter: Redis failed; not throttling");
      return fallback;
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    reserve: (buckets) => {
      if (buckets.length === 0) return Promise.resolve(0);
      const args = buckets.flatMap((b) => [String(b.intervalMs), String(b.toleranceMs)]);
      const work = redis
        .eval(RESERVE, buckets.length, ...buckets.map(tatKey), ...args)
        .then((wait) => Math.max(0, Number(wait)));
      return bounded("reserve", work, 0);
    },
    pause: async (buckets, ms) => {
      if (buckets.length === 0 || ms <= 0) return;
      const keys = [...buckets.map(tatKey), ...buckets.map(pauseKey)];
      const args = [String(Math.ceil(ms)), ...buckets.map((b) => String(b.toleranceMs))];
      await bounded("pause", redis.eval(PAUSE, keys.length, ...keys, ...args), 0);
    },
    pausedFor: (buckets) => {
      if (buckets.length === 0) return Promise.resolve(0);
      const pipeline = redis.pipeline();
      for (const bucket of buckets) pipeline.pttl(pauseKey(bucket));
      const work = pipeline
        .exec()
        .then((results) =>
          Math.max(0, ...(results ?? []).map(([, ttl]) => (typeof ttl === "number" ? ttl : 0))),
        );
      return bounded("pausedFor", work, 0);
    },
  };
}
