/**
 * The recorder's promise to BullMQ: a job's records resolve once they are staged in the
 * write-ahead log (not after a flush), a failed stage fails its jobs (so BullMQ runs them
 * again), staging waits while the log is over its cap, flushes start at most once per
 * interval and a failed one leaves the next one coming, and close() stages what waits and
 * flushes what the log holds.
 */
import { describe, expect, it } from "vitest";
import type { DeliveryRecord } from "../../../src/deliveries/delivery.js";
import {
  createDeliveryRecorder,
  type FlushOutcome,
  type RecorderOptions,
} from "../../../src/deliveries/recorder.js";
import { createLogger } from "../../../src/platform/logger.js";

const logger = createLogger("silent");
const record = (n: number): DeliveryRecord => ({
  kind: "delivered",
  pipeline: "",
  client: "acme",
  sku: `S-${n}`,
  targetSystem: "t",
  occurredAt: n,
});

/** A log in memory: stages append, a flush empties it. */
function fakeLog(overrides: Partial<RecorderOptions> = {}) {
  const stages: number[] = [];
  const flushes: number[] = [];
  let held = 0;
  const options: RecorderOptions = {
    logger,
    stageMs: 20,
    stageRecords: 500,
    flushMs: 60_000,
    maxBacklog: 1_000_000,
    backlogPollMs: 10,
    stage: async (records) => {
      stages.push(records.length);
      held += records.length;
      return { backlog: held };
    },
    backlog: async () => held,
    flush: async (): Promise<FlushOutcome> => {
      flushes.push(Date.now());
      if (held === 0) return "idle";
      held = 0;
      return "flushed";
    },
    ...overrides,
  };
  return {
    options,
    stages,
    flushes,
    get held() {
      return held;
    },
    drain() {
      held = 0;
    },
  };
}

describe("the delivery recorder", () => {
  it("resolves a job once its records are staged, long before the flush", async () => {
    const log = fakeLog();
    const recorder = createDeliveryRecorder(log.options);
    const started = Date.now();
    await recorder.record([record(1), record(2)]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(log.stages).toEqual([2]);
    expect(log.flushes).toEqual([]);
    await recorder.close();
  });

  it("gathers the jobs of one stage interval into one append, and stages at once when many wait", async () => {
    const log = fakeLog({ stageMs: 200, stageRecords: 100 });
    const recorder = createDeliveryRecorder(log.options);
    const started = Date.now();
    await Promise.all(Array.from({ length: 10 }, (_, i) => recorder.record([record(i)])));
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(log.stages).toEqual([10]);
    const full = Date.now();
    await Promise.all(Array.from({ length: 100 }, (_, i) => recorder.record([record(i)])));
    expect(Date.now() - full).toBeLessThan(150);
    expect(log.stages).toEqual([10, 100]);
    await recorder.close();
  });

  it("fails every job of a stage that failed, and the next jobs still go through", async () => {
    let fail = true;
    const log = fakeLog();
    const recorder = createDeliveryRecorder({
      ...log.options,
      stage: async (records) => {
        if (fail) throw new Error("redis away");
        return log.options.stage(records);
      },
    });
    const a = recorder.record([record(1)]);
    const b = recorder.record([record(2)]);
    await expect(a).rejects.toThrow("redis away");
    await expect(b).rejects.toThrow("redis away");
    fail = false;
    await expect(recorder.record([record(3)])).resolves.toBeUndefined();
    await recorder.close();
  });

  it("holds jobs while the log is over its cap, until a flush brings it down", async () => {
    const log = fakeLog({ maxBacklog: 5 });
    const recorder = createDeliveryRecorder(log.options);
    await recorder.record(Array.from({ length: 6 }, (_, i) => record(i)));
    let done = false;
    const held = recorder.record([record(7)]).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(done).toBe(false);
    expect(log.stages).toEqual([6]);
    log.drain();
    await held;
    expect(log.stages).toEqual([6, 1]);
    await recorder.close();
  });

  it("starts flushes at most once per interval, and goes on after one that failed", async () => {
    let calls = 0;
    const starts: number[] = [];
    const recorder = createDeliveryRecorder({
      ...fakeLog().options,
      flushMs: 100,
      flush: async () => {
        starts.push(Date.now());
        calls += 1;
        if (calls === 1) throw new Error("not transient");
        return "idle";
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 450));
    const timed = [...starts];
    await recorder.close();
    expect(timed.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < timed.length; i++) {
      expect((timed[i] as number) - (timed[i - 1] as number)).toBeGreaterThanOrEqual(95);
    }
  });

  it("close() stages what waits, flushes the log, and refuses more", async () => {
    const log = fakeLog({ stageMs: 60_000 });
    const recorder = createDeliveryRecorder(log.options);
    const waiting = recorder.record([record(1), record(2)]);
    await recorder.close();
    await waiting;
    expect(log.stages).toEqual([2]);
    expect(log.flushes.length).toBeGreaterThanOrEqual(1);
    expect(log.held).toBe(0);
    await expect(recorder.record([record(3)])).rejects.toThrow("closed");
  });
});
