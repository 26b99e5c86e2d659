/**
 * Each HTTP producer's rate, in events: a GCRA bucket per producer in Redis (the technique of
 * src/platform/slack/rate-limiter.ts), shared by every web replica, with Redis TIME as the
 * clock. A request costs one unit per event it carries (at least one), and is refused whole,
 * with how long to wait, when the bucket cannot take it now: a producer sending faster than
 * its rate is slowed down, and nobody else's events wait behind it.
 */
import type { Redis } from "ioredis";

// KEYS[1]: the producer's TAT. ARGV: ms per event, burst (events), cost (events).
// Returns 0 (taken) or the milliseconds until the request would fit.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local nextTat = tat + cost * interval
local allowedAt = nextTat - burst * interval
if allowedAt > now then return math.ceil(allowedAt - now) end
redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.max(1, math.ceil(nextTat - now)))
return 0
`;

export interface ProducerRate {
  perSecond: number;
  burst: number;
}

/** Takes `cost` events from the producer's bucket: 0 when taken, else ms to wait. */
export async function takeFromBucket(
  redis: Redis,
  prefix: string,
  producerId: number,
  cost: number,
  rate: ProducerRate,
): Promise<number> {
  const key = `${prefix}:syncdesk-producers:rate:${producerId}`;
  const wait = await redis.eval(
    TAKE,
    1,
    key,
    String(1000 / rate.perSecond),
    String(rate.burst),
    String(Math.max(1, cost)),
  );
  return Number(wait);
}
