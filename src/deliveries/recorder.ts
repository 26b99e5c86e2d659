/**
 * Deliveries are aggregated in memory and flushed at most once per `flushMs`. A job's promise
 * resolves only after the flush holding its deliveries has committed: a process killed before
 * that leaves its jobs active in BullMQ, whose stalled-job check runs them again on another
 * worker, and the eventId dedupe of the flush counts each such delivery once. (Deliveries
 * without an eventId are counted at least once: a job re-run after a crash that happened
 * between the commit and BullMQ's completion counts them again.)
 */
import type { Logger } from "../platform/logger.js";
import { isTransientError } from "../platform/transient.js";
import type { DeliveryRecord } from "./delivery.js";
import type { FlushResult } from "./flush.repo.js";

export interface DeliveryRecorder {
  /** Resolves once these records are committed (and what follows a flush has run). */
  record(records: DeliveryRecord[]): Promise<void>;
  /** Flushes what is waiting and stops taking records. */
  close(): Promise<void>;
}

interface Pending {
  records: DeliveryRecord[];
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

const FLUSH_ATTEMPTS = 3;

export function createDeliveryRecorder(options: {
  flushMs: number;
  logger: Logger;
  /** One flush, in one transaction; then what runs after its commit (recovery, metrics). */
  flush(records: DeliveryRecord[]): Promise<FlushResult>;
  afterFlush?(result: FlushResult): Promise<void>;
}): DeliveryRecorder {
  const { flushMs, logger } = options;
  let pending: Pending = { records: [], waiters: [] };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let lastFlushAt = 0;
  let closed = false;

  const schedule = () => {
    if (timer || running || pending.records.length === 0) return;
    const wait = closed ? 0 : Math.max(0, lastFlushAt + flushMs - Date.now());
    timer = setTimeout(run, wait);
  };

  const flushWithRetries = async (records: DeliveryRecord[]) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await options.flush(records);
      } catch (error) {
        // A deadlock or a dropped connection rolled the whole flush back: try it again.
        if (attempt >= FLUSH_ATTEMPTS || !isTransientError(error)) throw error;
        logger.warn({ err: error, attempt, records: records.length }, "delivery flush retried");
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  };

  const run = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (running || pending.records.length === 0) return;
    const batch = pending;
    pending = { records: [], waiters: [] };
    lastFlushAt = Date.now();
    const started = Date.now();
    running = (async () => {
      try {
        const result = await flushWithRetries(batch.records);
        await options.afterFlush?.(result);
        logger.debug(
          {
            records: batch.records.length,
            jobs: batch.waiters.length,
            ms: Date.now() - started,
            steps: result.steps,
          },
          "deliveries flushed",
        );
        for (const waiter of batch.waiters) waiter.resolve();
      } catch (error) {
        logger.error({ err: error, records: batch.records.length }, "delivery flush failed");
        for (const waiter of batch.waiters) waiter.reject(error);
      }
    })().finally(() => {
      running = null;
      schedule();
    });
  };

  return {
    record(records) {
      if (closed) return Promise.reject(new Error("the delivery recorder is closed"));
      for (const record of records) pending.records.push(record);
      const done = new Promise<void>((resolve, reject) =>
        pending.waiters.push({ resolve, reject }),
      );
      if (records.length === 0 && pending.records.length === 0) {
        pending.waiters.pop()?.resolve();
        return done;
      }
      schedule();
      return done;
    },
    async close() {
      closed = true;
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      while (running || pending.records.length > 0) {
        if (!running) run();
        await running;
      }
    },
  };
}
