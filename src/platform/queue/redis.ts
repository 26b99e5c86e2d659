import type { ConnectionOptions } from "node:tls";
import { Cluster, Redis } from "ioredis";

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

/** `{tag}…`: every key of the prefix hashes to the slot of `tag` (Redis Cluster hash tags). */
export const HASH_TAGGED = /^\{[^{}]+\}/;

/**
 * The process's Redis: one server (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES,
 * `host:port,host:port`; credentials and TLS from REDIS_URL and REDIS_TLS_CA). On a cluster
 * every key syncdesk and BullMQ use starts with QUEUE_PREFIX, so a hash-tagged prefix
 * (`{syncdesk}`) puts them all in one slot, as BullMQ's and our Lua scripts need.
 *
 * Typed as `Redis`: ioredis's Cluster has the same commands, `duplicate()`, `status` and
 * events, and BullMQ takes either; only a key scan differs (clearPrefix).
 */
export function connectRedis(
  settings: { url: string; clusterNodes?: string; prefix: string },
  name?: string,
  tls?: ConnectionOptions,
): Redis {
  if (!settings.clusterNodes) return createRedis(settings.url, name, tls);
  if (!HASH_TAGGED.test(settings.prefix))
    throw new Error(
      `QUEUE_PREFIX must start with a hash tag such as {syncdesk} on a Redis Cluster (it is ${settings.prefix})`,
    );
  const credentials = new URL(settings.url);
  const cluster = new Cluster(clusterNodesOf(settings.clusterNodes), {
    enableReadyCheck: true,
    redisOptions: {
      maxRetriesPerRequest: null,
      ...(name ? { connectionName: name } : {}),
      ...(credentials.username ? { username: decodeURIComponent(credentials.username) } : {}),
      ...(credentials.password ? { password: decodeURIComponent(credentials.password) } : {}),
      ...(tls ? { tls } : {}),
    },
  });
  return cluster as unknown as Redis;
}

/** `a:1,b:2` -> [{ host: "a", port: 1 }, …]; pure. */
export function clusterNodesOf(text: string): { host: string; port: number }[] {
  return text
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const at = entry.lastIndexOf(":");
      const port = Number(entry.slice(at + 1));
      if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535)
        throw new Error(`REDIS_CLUSTER_NODES: "${entry}" is not host:port`);
      return { host: entry.slice(0, at), port };
    });
}

/** Deletes every key under a queue prefix (a test's, a bench's or the demo's own queues). */
export async function clearPrefix(redis: Redis, prefix: string): Promise<void> {
  // On a cluster each master holds its own keys: scan them one by one.
  const nodes = redis instanceof Cluster ? (redis as Cluster).nodes("master") : [redis];
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      // One key at a time on a cluster: DEL of several keys must stay within one slot.
      if (keys.length) await Promise.all(keys.map((key) => node.del(key)));
    } while (cursor !== "0");
  }
}
