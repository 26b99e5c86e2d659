/**
 * Deliveries go through two steps, each batched:
 *
 * - **Stage** (every `stageMs`, or at once when `stageRecords` wait): the records of the jobs
 *   judged meanwhile are appended to the write-ahead log (one Redis stream entry, src/deliveries/
 *   wal.ts), and only then do those jobs resolve. A process killed before the append leaves its
 *   jobs active in BullMQ, whose stalled-job check runs them again on another worker.
 * - **Flush** (at most once per `flushMs`, in any worker process, one at a time across them):
 *   what the log holds past its mark is counted in one Postgres transaction that also moves the
 *   mark; the follow-ups (recovery, gates, metrics) run after the commit, then the entries are
 *   removed. A failed flush loses nothing: the entries stay and the next flush takes them.
 *
 * So a job is held for a stage (milliseconds), not for a flush (a second), and a worker needs
 * far fewer jobs at once for the same throughput. While Postgres is down the log grows; past
 * `maxBacklog` records, staging waits for the flushes to catch up and jobs are held again.
 * (Deliveries without an eventId are counted at least once: a job re-run after a crash between
 * its append and BullMQ's completion is staged again.)
 */
import type { Logger } from "../platform/logger.js";
import { isTransientError } from "../platform/transient.js";
import type { DeliveryRecord } from "./delivery.js";

/** What one flush did: counted something, found nothing, or left it to another flusher. */
export type FlushOutcome = "flushed" | "idle" | "busy";

export interface DeliveryRecorder {
  /** Resolves once these records are in the write-ahead log (a flush will count them). */
  record(records: DeliveryRecord[]): Promise<void>;
  /** One flush now, retried on a transient error; rejects if it failed. */
  flush(): Promise<FlushOutcome>;
  /** Stages what waits, stops taking records, and flushes what the log holds if it can. */
  close(): Promise<void>;
}

export interface RecorderOptions {
  logger: Logger;
  /** The longest a record waits to be staged. */
  stageMs: number;
  /** Stage at once when this many records wait. */
  stageRecords: number;
  /** Flushes start at most once per this many milliseconds. */
  flushMs: number;
  /** Staging waits while the log holds more records than this (flushes are behind). */
  maxBacklog: number;
  /** How often a stage held by the backlog asks again (default: a tenth of flushMs, ≤ 250 ms). */
  backlogPollMs?: number;
  /** Appends records to the log; resolves with the backlog after them. */
  stage(records: DeliveryRecord[]): Promise<{ backlog: number }>;
  /** Records in the log, counted or not. */
  backlog(): Promise<number>;
  /** One flush: count what the log holds, commit, follow up, trim. */
  flush(): Promise<FlushOutcome>;
}

interface Pending {
  records: DeliveryRecord[];
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

const FLUSH_ATTEMPTS = 3;
/** Flushes close() runs at most to empty the log (each takes up to a flush's worth). */
const CLOSING_FLUSHES = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createDeliveryRecorder(options: RecorderOptions): DeliveryRecorder {
  const { logger, flushMs } = options;
  const pollMs = options.backlogPollMs ?? Math.min(250, Math.max(10, Math.round(flushMs / 10)));
  let pending: Pending = { records: [], waiters: [] };
  let stageTimer: NodeJS.Timeout | null = null;
  let staging: Promise<void> | null = null;
  let backlog = 0;
  let closed = false;
  let flushTimer: NodeJS.Timeout | null = null;
  let flushing: Promise<FlushOutcome> | null = null;
  let lastFlushAt = Date.now();

  // ---- staging ----
  const scheduleStage = () => {
    if (staging || pending.waiters.length === 0) return;
    const now = pending.records.length >= options.stageRecords || closed;
    if (now) {
      if (stageTimer) clearTimeout(stageTimer);
      stageTimer = setTimeout(runStage, 0);
    } else if (!stageTimer) stageTimer = setTimeout(runStage, options.stageMs);
  };

  /** While the log is over its cap, wait for flushes to bring it down (not when closing). */
  const waitForRoom = async () => {
    let warned = false;
    while (backlog > options.maxBacklog && !closed) {
      if (!warned) {
        logger.warn({ backlog, max: options.maxBacklog }, "delivery WAL full: staging waits");
        warned = true;
      }
      await sleep(pollMs);
      try {
        backlog = await options.backlog();
      } catch (error) {
        logger.warn({ err: error }, "could not read the delivery WAL backlog");
      }
    }
  };

  const runStage = () => {
    if (stageTimer) clearTimeout(stageTimer);
    stageTimer = null;
    if (staging || pending.waiters.length === 0) return;
    const batch = pending;
    pending = { records: [], waiters: [] };
    staging = (async () => {
      try {
        await waitForRoom();
        if (batch.records.length > 0) ({ backlog } = await options.stage(batch.records));
        for (const waiter of batch.waiters) waiter.resolve();
      } catch (error) {
        // Nothing was appended: the jobs fail and BullMQ (or the worker's retry) runs them again.
        logger.warn({ err: error, records: batch.records.length }, "delivery stage failed");
        for (const waiter of batch.waiters) waiter.reject(error);
      }
    })().finally(() => {
      staging = null;
      scheduleStage();
    });
  };

  // ---- flushing ----
  const flushWithRetries = async (): Promise<FlushOutcome> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await options.flush();
      } catch (error) {
        // A deadlock or a dropped connection rolled the flush back; its entries are still there.
        if (attempt >= FLUSH_ATTEMPTS || !isTransientError(error)) throw error;
        logger.warn({ err: error, attempt }, "delivery flush retried");
        await sleep(50 * attempt);
      }
    }
  };

  const flushNow = (): Promise<FlushOutcome> => {
    if (flushing) return flushing;
    lastFlushAt = Date.now();
    const started = Date.now();
    flushing = flushWithRetries()
      .then((outcome) => {
        logger.debug({ outcome, ms: Date.now() - started }, "delivery flush");
        return outcome;
      })
      .finally(() => {
        flushing = null;
      });
    return flushing;
  };

  const scheduleFlush = () => {
    if (closed || flushTimer) return;
    const wait = Math.max(0, lastFlushAt + flushMs - Date.now());
    flushTimer = setTimeout(() => {
      flushTimer = null;
      flushNow()
        .catch((error: unknown) => {
          // Logged, never dropped: the entries wait in the log for the next flush.
          logger.error({ err: error }, "delivery flush failed; its entries wait for the next");
        })
        .finally(scheduleFlush);
    }, wait);
  };
  scheduleFlush();

  return {
    record(records) {
      if (closed) return Promise.reject(new Error("the delivery recorder is closed"));
      if (records.length === 0) return Promise.resolve();
      const done = new Promise<void>((resolve, reject) => {
        pending.waiters.push({ resolve, reject });
      });
      for (const record of records) pending.records.push(record);
      scheduleStage();
      return done;
    },
    flush: flushNow,
    async close() {
      closed = true;
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = null;
      while (staging || pending.waiters.length > 0) {
        if (!staging) runStage();
        await staging;
      }
      await flushing?.catch(() => {});
      for (let round = 0; round < CLOSING_FLUSHES; round++) {
        try {
          if ((await flushNow()) !== "flushed") break;
        } catch (error) {
          // Postgres is away: what the log holds waits for the next worker's flush.
          logger.warn({ err: error }, "delivery WAL not flushed at close; it waits in Redis");
          break;
        }
      }
    },
  };
}
