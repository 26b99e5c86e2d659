import { Redis } from "ioredis";

/**
 * BullMQ workers need `maxRetriesPerRequest: null`; one connection per process role. The
 * name (CLIENT SETNAME, kept by duplicates) says in `CLIENT LIST` which process holds which
 * connection; BullMQ renames its blocking connections after their queue.
 */
export function createRedis(url: string, name?: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    ...(name ? { connectionName: name } : {}),
  });
}
