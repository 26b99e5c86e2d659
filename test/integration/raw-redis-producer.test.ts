/**
 * A producer on another stack (Python's `bullmq`, or a plain Redis client) gets its events
 * onto cards by writing the job format the README documents: queue names, job names, job id
 * `event-<base64url(eventId)>`, options. The hand-written job is what BullMQ itself writes.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { FAILURE_JOB_OPTIONS, failureJobId } from "../../src/intake/failure-event.schema.js";
import { eventually, failureEvent, REDIS_URL } from "../support/harness.js";
import { addJobByHand } from "../support/raw-redis-producer.js";
import { DESK, exceptionOf } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({ ...DESK, env: { STORM_THRESHOLD: "1000" } });

async function withRedis<T>(use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(REDIS_URL, { connectionName: `test:${h.env.QUEUE_PREFIX}:raw` });
  try {
    return await use(redis);
  } finally {
    await redis.quit();
  }
}

describe("a producer writing BullMQ's Redis format by hand", () => {
  it("gets its failure event onto a card, and a repeat adds nothing", async () => {
    const event = failureEvent({ sku: "SKU-PYTHON-1", client: "acme" });
    const job = {
      prefix: h.env.QUEUE_PREFIX,
      queue: "inventory-sync-failures",
      name: "sync.failed",
      id: failureJobId(event.eventId),
      data: { ...event, addedByPython: true },
      opts: { ...FAILURE_JOB_OPTIONS },
    };
    expect(await withRedis((redis) => addJobByHand(redis, job))).toBe("added");
    const row = await exceptionOf(h, event.eventId);
    expect(row).toMatchObject({ channel: "C0FULFILL", client: "acme", sku: "SKU-PYTHON-1" });
    const card = h.fake.messages("C0FULFILL").find((message) => message.ts === row.cardTs);
    expect(card).toBeDefined();
    expect(await withRedis((redis) => addJobByHand(redis, job))).toBe("duplicate");
    // Done and kept for a day under its id, as the options say.
    const done = await eventually(async () => {
      const found = await h.bot.deps.queues.failures.getJob(job.id);
      return found?.finishedOn ? found : null;
    });
    expect(done.opts.removeOnComplete).toEqual({ age: 86400, count: 10000 });
    expect(done.returnvalue).toBe("opened");
  });

  it("writes what BullMQ's own add writes", async () => {
    const queue = h.producerQueue("format-check");
    await queue.pause();
    const data = { eventId: "format-1", nested: { a: [1, 2] } };
    await queue.add("sync.failed", data, { jobId: "event-by-bullmq", ...FAILURE_JOB_OPTIONS });
    await withRedis(async (redis) => {
      await queue.resume();
      await addJobByHand(redis, {
        prefix: h.env.QUEUE_PREFIX,
        queue: "format-check",
        name: "sync.failed",
        id: "event-by-hand",
        data,
        opts: { ...FAILURE_JOB_OPTIONS },
      });
      const key = (id: string) => `${h.env.QUEUE_PREFIX}:format-check:${id}`;
      const byBullmq = await redis.hgetall(key("event-by-bullmq"));
      const byHand = await redis.hgetall(key("event-by-hand"));
      const comparable = (hash: Record<string, string>, id: string) => ({
        ...hash,
        timestamp: "(any)",
        opts: JSON.parse((hash.opts ?? "{}").replace(id, "(id)")),
      });
      expect(comparable(byHand, "event-by-hand")).toEqual(comparable(byBullmq, "event-by-bullmq"));
      expect(await redis.lrange(key("wait"), 0, -1)).toEqual(["event-by-hand", "event-by-bullmq"]);
      expect(await redis.zrange(key("marker"), 0, -1)).toEqual(["0"]);
    });
  });
});
