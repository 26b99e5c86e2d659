import { Redis } from "ioredis";

/** BullMQ workers need `maxRetriesPerRequest: null`; one connection per process role. */
export function createRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}
