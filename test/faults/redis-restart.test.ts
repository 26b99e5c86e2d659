/**
 * A private Redis (test/faults/servers.ts) stopped and started again in the middle of a burst,
 * with an append-only file as production runs it, and without one (its data lost). The shared
 * Redis on :6379 is never touched.
 */
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import { everyTimerFiredOnce, faultMidBurst, RESTART_ENV } from "./restart-scenario.js";
import { type PrivateRedis, pause, startPrivateRedis } from "./servers.js";
import {
  burst,
  everythingAccountedFor,
  oneCardEach,
  processed,
  type Stage,
  startStage,
} from "./support.js";

/** The log is one JSON object a line; a bare stack on stderr escapes the log pipeline. */
function notJson(output: string): string[] {
  return output
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("{"))
    .slice(0, 5);
}

let stage: Stage | undefined;
let redis: PrivateRedis | undefined;
afterEach(async () => {
  try {
    await stage?.close();
  } finally {
    await redis?.close();
    stage = undefined;
    redis = undefined;
  }
});

describe("Redis restarted with its append-only file", () => {
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    it(`${signal} in the middle of a burst: every event taken in once, one card each, every timer fires once`, async () => {
      redis = await startPrivateRedis({ persistent: true });
      const server = redis;
      stage = await startStage(RESTART_ENV, { redisUrl: server.url });
      const s = stage;
      const run = await faultMidBurst(s, async () => {
        await server.stop(signal);
        await pause(1000);
        await server.start();
      });
      expect(run.takenBefore).toBeLessThan(run.events.length + run.bad.length);
      await everythingAccountedFor(s, [...run.timers, ...run.events], run.bad);
      const [occurrences] = await s.sql<{ total: number }[]>`
        select sum(occurrences)::int as total from exceptions`;
      expect(occurrences?.total).toBe(run.timers.length + run.events.length);
      await oneCardEach(s);
      await everyTimerFiredOnce(s, run);
      expect(run.worker.child.exitCode).toBeNull();
      expect(notJson(run.worker.output()), "log lines that are not JSON").toEqual([]);
      await eventually(async () => (await s.failures.getJobCountByTypes("failed")) === 0, 30_000);
    });
  }
});

describe("Redis restarted without persistence (its data lost)", () => {
  it("events still waiting in Redis are the producer's loss; every exception in Postgres keeps one card and its timers", async () => {
    redis = await startPrivateRedis({ persistent: false });
    const server = redis;
    stage = await startStage(RESTART_ENV, { redisUrl: server.url });
    const s = stage;
    const run = await faultMidBurst(s, async () => {
      await server.stop("SIGTERM");
      await pause(1000);
      await server.start();
    });
    // The queue came back empty: what was still waiting is gone with it (the producer would
    // have to send it again), and nothing is left to take in.
    await eventually(
      async () => (await s.failures.getJobCounts("waiting", "active", "delayed")).waiting === 0,
      10_000,
    );
    const lost = run.events.length + run.bad.length + run.timers.length - (await processed(s));
    expect(lost, "events lost with Redis's data").toBeGreaterThan(0);
    // The worker takes new events as before.
    const after = burst(20, 4);
    await s.report(after);
    await everythingAccountedFor(s, [...run.timers, ...after], []);
    await oneCardEach(s);
    await everyTimerFiredOnce(s, run);
    expect(run.worker.child.exitCode).toBeNull();
  });
});
