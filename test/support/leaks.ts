/**
 * What a test file must not leave behind once its syncdesk is closed: Postgres connections to
 * its database, Redis connections named after its queue prefix (syncdesk names its own,
 * BullMQ names its queues' and workers'), and handles that keep this process alive (sockets,
 * servers, timers, child processes) beyond those open before the file started.
 *
 * Closing is asynchronous at the far end (a backend exits after the client's Terminate, Redis
 * drops a client after QUIT), so each check waits a few seconds for the count to settle before
 * it reports.
 */
import { Redis } from "ioredis";
import type postgres from "postgres";
import { connectionsTo } from "./test-databases.js";

const SETTLE_MS = Number(process.env.TEST_LEAK_SETTLE_MS ?? 5_000);
/** Handle types that are ours to close. Others (FSReqCallback, TTYWrap, ...) belong to vitest. */
const WATCHED = new Set([
  "TCPSocketWrap",
  "TCPServerWrap",
  "Timeout",
  "Immediate",
  "ProcessWrap",
  "PipeWrap",
]);

export type HandleCounts = Map<string, number>;

/** Handles keeping the event loop alive, by type (only the types we watch). */
export function activeHandles(): HandleCounts {
  const counts: HandleCounts = new Map();
  for (const type of process.getActiveResourcesInfo()) {
    if (WATCHED.has(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

/**
 * The handles open before a file starts. Vitest itself has a timer pending now and then for a
 * moment: wait (at most half a second) for a moment without one, so it is not taken for ours.
 */
export async function baselineHandles(): Promise<HandleCounts> {
  const deadline = Date.now() + 500;
  let counts = activeHandles();
  while ((counts.get("Timeout") ?? 0) > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 25));
    const now = activeHandles();
    if ((now.get("Timeout") ?? 0) < (counts.get("Timeout") ?? 0)) counts = now;
  }
  return counts;
}

function handlesAbove(before: HandleCounts): string[] {
  const extra: string[] = [];
  for (const [type, count] of activeHandles()) {
    const over = count - (before.get(type) ?? 0);
    if (over > 0) extra.push(`${over} × ${type}`);
  }
  return extra;
}

async function settled<T>(probe: () => Promise<T[]>): Promise<T[]> {
  const deadline = Date.now() + SETTLE_MS;
  let found = await probe();
  while (found.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    found = await probe();
  }
  return found;
}

/** `CLIENT LIST` entries whose name mentions the prefix. */
async function redisClientsOf(redisUrl: string, prefix: string): Promise<string[]> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    const list = (await redis.client("LIST")) as string;
    return list
      .split("\n")
      .map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? "")
      .filter((name) => name.includes(prefix));
  } finally {
    redis.disconnect();
  }
}

/** Handles opened since `before` and still open once they had time to close. */
export async function handleLeaks(before: HandleCounts): Promise<string[]> {
  const handles = await settled(async () => handlesAbove(before));
  return handles.length
    ? [`handles still open after close (beyond those before the file): ${handles.join(", ")}`]
    : [];
}

/** Postgres connections to `database` and Redis connections named after `prefix`. */
export async function connectionLeaks(
  admin: postgres.Sql,
  database: string,
  redisUrl: string,
  prefix: string,
): Promise<string[]> {
  const pg = await settled(() => connectionsTo(admin, database));
  const redis = await settled(() => redisClientsOf(redisUrl, prefix));
  return [
    ...pg.map((backend) => `Postgres connection to ${database}: ${backend}`),
    ...redis.map((name) => `Redis connection ${name}`),
  ];
}
