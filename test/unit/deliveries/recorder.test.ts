/**
 * The in-memory aggregation's promise to BullMQ: a job's records resolve only after the flush
 * that holds them has committed, a failed flush fails every job it held (so BullMQ runs them
 * again), flushes start at most once per interval, and close() flushes what waits.
 */
import { describe, expect, it } from "vitest";
import type { DeliveryRecord } from "../../../src/deliveries/delivery.js";
import type { FlushResult } from "../../../src/deliveries/flush.repo.js";
import { createDeliveryRecorder } from "../../../src/deliveries/recorder.js";
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
const empty: FlushResult = { counted: [], minuteRows: [], rejected: [], steps: {} };

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe("the delivery recorder", () => {
  it("resolves a job only after the flush holding its records has committed", async () => {
    const commit = gate();
    const flushed: number[] = [];
    const recorder = createDeliveryRecorder({
      flushMs: 50,
      logger,
      flush: async (records) => {
        await commit.opened;
        flushed.push(records.length);
        return empty;
      },
    });
    let done = false;
    const job = recorder.record([record(1), record(2)]).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(done).toBe(false);
    commit.open();
    await job;
    expect(flushed).toEqual([2]);
    await recorder.close();
  });

  it("fails every job of a flush that failed, and the next jobs still go through", async () => {
    let fail = true;
    const recorder = createDeliveryRecorder({
      flushMs: 10,
      logger,
      flush: async () => {
        if (fail) throw new Error("not transient");
        return empty;
      },
    });
    const a = recorder.record([record(1)]);
    const b = recorder.record([record(2)]);
    await expect(a).rejects.toThrow("not transient");
    await expect(b).rejects.toThrow("not transient");
    fail = false;
    await expect(recorder.record([record(3)])).resolves.toBeUndefined();
    await recorder.close();
  });

  it("starts flushes at most once per interval, gathering the jobs in between", async () => {
    const starts: number[] = [];
    const sizes: number[] = [];
    const recorder = createDeliveryRecorder({
      flushMs: 200,
      logger,
      flush: async (records) => {
        starts.push(Date.now());
        sizes.push(records.length);
        return empty;
      },
    });
    await recorder.record([record(0)]);
    const jobs = Array.from({ length: 50 }, (_, i) => recorder.record([record(i)]));
    await Promise.all(jobs);
    expect(sizes).toEqual([1, 50]);
    expect((starts[1] as number) - (starts[0] as number)).toBeGreaterThanOrEqual(190);
    await recorder.close();
  });

  it("close() flushes what waits and refuses more", async () => {
    const sizes: number[] = [];
    const recorder = createDeliveryRecorder({
      flushMs: 60_000,
      logger,
      flush: async (records) => {
        sizes.push(records.length);
        return empty;
      },
    });
    await recorder.record([record(0)]);
    const waiting = recorder.record([record(1), record(2)]);
    await recorder.close();
    await waiting;
    expect(sizes).toEqual([1, 2]);
    await expect(recorder.record([record(3)])).rejects.toThrow("closed");
  });
});
