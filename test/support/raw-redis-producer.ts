/**
 * A producer that writes BullMQ's Redis job format by hand, with plain Redis commands, as the
 * README's "Producers on other stacks" documents it: what a producer in Python (the `bullmq`
 * PyPI package runs the same Lua script, addStandardJob), Go or anything with a Redis client
 * does. It stands in for the Python producer the desk cannot install here.
 *
 * With P the desk's QUEUE_PREFIX, Q the queue, ID the job id, in one MULTI watched on the job:
 *   EXISTS P:Q:ID                       already there: a repeat, nothing to add
 *   INCR   P:Q:id                       BullMQ counts every add
 *   HSETNX P:Q:meta opts.maxLenEvents 10000
 *   HSET   P:Q:ID name <job name> data <event JSON> opts <options JSON> timestamp <ms> delay 0 priority 0
 *   XADD   P:Q:events MAXLEN ~ 10000 * event added jobId ID name <job name>
 *   LPUSH  P:Q:wait ID
 *   ZADD   P:Q:marker 0 0               (unless P:Q:meta has `paused`): wakes the workers
 *   XADD   P:Q:events MAXLEN ~ 10000 * event waiting jobId ID
 */
import type { Redis } from "ioredis";

export async function addJobByHand(
  redis: Redis,
  job: {
    prefix: string;
    queue: string;
    name: string;
    id: string;
    data: unknown;
    opts: Record<string, unknown>;
    timestamp?: number;
  },
): Promise<"added" | "duplicate"> {
  const key = (part: string) => `${job.prefix}:${job.queue}:${part}`;
  const jobKey = key(job.id);
  for (;;) {
    await redis.watch(jobKey, key("meta"));
    if ((await redis.exists(jobKey)) === 1) {
      await redis.unwatch();
      return "duplicate";
    }
    const paused = (await redis.hexists(key("meta"), "paused")) === 1;
    const multi = redis
      .multi()
      .incr(key("id"))
      .hsetnx(key("meta"), "opts.maxLenEvents", "10000")
      .hset(jobKey, {
        name: job.name,
        data: JSON.stringify(job.data),
        opts: JSON.stringify({ jobId: job.id, attempts: 0, ...job.opts }),
        timestamp: String(job.timestamp ?? Date.now()),
        delay: "0",
        priority: "0",
      })
      .xadd(
        key("events"),
        "MAXLEN",
        "~",
        "10000",
        "*",
        "event",
        "added",
        "jobId",
        job.id,
        "name",
        job.name,
      )
      .lpush(key("wait"), job.id);
    if (!paused) multi.zadd(key("marker"), 0, "0");
    multi.xadd(key("events"), "MAXLEN", "~", "10000", "*", "event", "waiting", "jobId", job.id);
    // null: the job or the queue's meta changed meanwhile (another producer); look again.
    if ((await multi.exec()) !== null) return "added";
  }
}
