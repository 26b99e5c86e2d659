/**
 * Postgres and Redis failing under a running worker, without restarting the shared servers:
 * the worker's Postgres backends are terminated (what a restart or failover does to them),
 * its Redis connections are killed, and its database refuses connections for a while. The
 * worker keeps running and every event is accounted for.
 */

import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import {
  badJobs,
  burst,
  everythingAccountedFor,
  killRedisClients,
  oneCardEach,
  processed,
  type Stage,
  startStage,
  terminateBackends,
} from "./support.js";

const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

let stage: Stage | undefined;
afterEach(async () => {
  await stage?.close();
  stage = undefined;
});

/** Repeats a fault every `everyMs` until `total` events and rejections are in. */
async function throughout(
  s: Stage,
  total: number,
  fault: () => Promise<number>,
  everyMs = 300,
): Promise<{ hits: number; rounds: number }> {
  let hits = 0;
  let rounds = 0;
  const deadline = Date.now() + 60_000;
  while ((await processed(s)) < total && Date.now() < deadline) {
    hits += await fault();
    rounds += 1;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return { hits, rounds };
}

describe("Postgres faults", () => {
  it("terminated backends in the middle of a burst lose nothing and do not stop the worker", async () => {
    stage = await startStage();
    const s = stage;
    const worker = await stage.start("worker");
    const events = burst(300, 4);
    const bad = badJobs(10);
    await stage.report(events);
    await stage.reportRaw(bad);
    const { hits, rounds } = await throughout(s, events.length + bad.length, () =>
      terminateBackends(s),
    );
    expect(hits).toBeGreaterThan(0);
    expect(rounds).toBeGreaterThan(1);
    await everythingAccountedFor(stage, events, bad);
    await oneCardEach(stage);
    expect(worker.child.exitCode).toBeNull();
    await eventually(async () => (await s.failures.getJobCountByTypes("failed")) === 0, 30_000);
  });

  it("a database that refuses connections for a while: failed intake jobs run again afterwards", async () => {
    stage = await startStage();
    const s = stage;
    const worker = await stage.start("worker");
    const database = new URL(stage.databaseUrl).pathname.slice(1);
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`alter database "${database}" allow_connections false`);
      await terminateBackends(stage);
      const events = burst(30, 3);
      await stage.report(events);
      // Longer than the worker's in-process retries: intake jobs fail for good...
      await eventually(
        async () => (await s.failures.getJobCountByTypes("failed")) > 0,
        30_000,
        "intake jobs failing while Postgres refuses connections",
      );
      // The sweeper (every second here) sees that Postgres does not answer and re-queues
      // nothing: a run now would only fail again and push the job's next try further out.
      await eventually(
        async () => worker.output().includes("failed intake jobs wait for it"),
        15_000,
        "the sweeper waiting for Postgres",
      );
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(worker.output()).not.toContain("re-queued a failed intake job");
      await admin.unsafe(`alter database "${database}" allow_connections true`);
      // ...and the sweeper puts them back once Postgres answers again.
      await everythingAccountedFor(stage, events, []);
      await eventually(async () => (await s.failures.getJobCountByTypes("failed")) === 0, 30_000);
      expect(worker.output()).toContain("re-queued a failed intake job");
      expect(worker.child.exitCode).toBeNull();
    } finally {
      await admin.unsafe(`alter database "${database}" allow_connections true`);
      await admin.end();
    }
  });
});

describe("Redis faults", () => {
  it("killed connections in the middle of a burst lose nothing and do not stop the worker", async () => {
    stage = await startStage();
    const s = stage;
    const worker = await stage.start("worker");
    const events = burst(300, 4);
    const bad = badJobs(10);
    await stage.report(events);
    await stage.reportRaw(bad);
    const { hits, rounds } = await throughout(s, events.length + bad.length, () =>
      killRedisClients(s),
    );
    expect(hits).toBeGreaterThan(0);
    expect(rounds).toBeGreaterThan(1);
    await everythingAccountedFor(stage, events, bad);
    await oneCardEach(stage);
    expect(worker.child.exitCode).toBeNull();
    expect(await s.failures.getJobCountByTypes("failed")).toBe(0);
  });
});
