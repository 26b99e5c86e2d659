import type { ConnectionOptions } from "node:tls";
import { Redis } from "ioredis";

/**
 * BullMQ workers need `maxRetriesPerRequest: null`; one connection per process role. The
 * name (CLIENT SETNAME, kept by duplicates) says in `CLIENT LIST` which process holds which
 * connection; BullMQ renames its blocking connections after their queue.
 */
export function createRedis(url: string, name?: string, tls?: ConnectionOptions): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    ...(name ? { connectionName: name } : {}),
    // rediss:// or REDIS_TLS_CA (src/platform/tls.ts); duplicates keep it.
    ...(tls ? { tls } : {}),
  });
}

/** Deletes every key under a queue prefix (a test's, a bench's or the demo's own queues). */
export async function clearPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
}
