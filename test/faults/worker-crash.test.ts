/**
 * A worker killed with SIGKILL in the middle of a burst, and a worker asked to stop with
 * SIGTERM: afterwards every event is an occurrence or a rejected-event row, and every
 * exception has exactly one card.
 */
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import {
  badJobs,
  burst,
  everythingAccountedFor,
  oneCardEach,
  processed,
  type Stage,
  startStage,
  waitForLine,
} from "./support.js";

let stage: Stage | undefined;
afterEach(async () => {
  await stage?.close();
  stage = undefined;
});

describe("worker crash", () => {
  it("SIGKILL in the middle of a burst loses no event and posts no card twice", async () => {
    stage = await startStage();
    const first = await stage.start("worker");
    // Many batches long (a batch takes up to INTAKE_CONCURRENCY events, 256): the kill lands
    // between commits, not after the only one.
    const events = burst(2000, 6);
    const bad = badJobs(10);
    await stage.report(events);
    await stage.reportRaw(bad);
    const s = stage;
    await eventually(async () => (await processed(s)) >= 40, 30_000, "part of the burst");
    first.child.kill("SIGKILL");
    const { signal } = await first.exited;
    expect(signal).toBe("SIGKILL");
    const before = await processed(stage);
    expect(before).toBeLessThan(events.length + bad.length);

    await stage.start("worker");
    await everythingAccountedFor(stage, events, bad);
    const [occurrences] = await stage.sql<{ total: number }[]>`
      select sum(occurrences)::int as total from exceptions`;
    expect(occurrences?.total).toBe(events.length);
    await oneCardEach(stage);
    expect(await stage.failures.getJobCountByTypes("failed")).toBe(0);
  });

  it("SIGKILL twice while cards are being posted still gives one card per exception", async () => {
    stage = await startStage();
    const events = burst(16, 16);
    let worker = await stage.start("worker");
    await stage.report(events);
    for (let round = 0; round < 2; round += 1) {
      const s = stage;
      const target = (round + 1) * 4;
      await eventually(
        async () => s.fake.callsTo("chat.postMessage").length >= target,
        30_000,
        `${target} card posts`,
      );
      worker.child.kill("SIGKILL");
      await worker.exited;
      worker = await stage.start("worker");
    }
    await everythingAccountedFor(stage, events, []);
    await oneCardEach(stage);
  });
});

describe("worker drain", () => {
  it("SIGTERM stops taking jobs, finishes in-flight ones and exits 0 within 10 s", async () => {
    stage = await startStage();
    const worker = await stage.start("worker");
    const events = burst(2000, 4);
    await stage.report(events);
    const s = stage;
    await eventually(async () => (await processed(s)) >= 20, 30_000, "part of the burst");
    const sentAt = Date.now();
    worker.child.kill("SIGTERM");
    const { code, at } = await worker.exited;
    expect(code, worker.output().slice(-3000)).toBe(0);
    expect(at - sentAt).toBeLessThan(10_000);
    expect(worker.output()).toContain('"msg":"stopped"');
    // Nothing left half-done: no job active, none failed; the rest waits for the next worker.
    const counts = await stage.failures.getJobCounts("active", "failed", "waiting", "completed");
    expect(counts.active).toBe(0);
    expect(counts.failed).toBe(0);
    expect((counts.completed ?? 0) + (counts.waiting ?? 0)).toBe(events.length);
    // No connection of the stopped worker is left open.
    const database = new URL(stage.databaseUrl).pathname.slice(1);
    const backends = await stage.sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = ${database} and application_name <> 'fault-test'`;
    expect(backends[0]?.n).toBe(0);
    const clients = (await stage.redis.client("LIST")) as string;
    expect(clients).not.toContain(`name=syncdesk:${stage.prefix}:`);

    const next = await stage.start("worker");
    await everythingAccountedFor(stage, events, []);
    await waitForLine(next, "syncdesk started");
  });
});
