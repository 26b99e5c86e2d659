/**
 * The deliveries feature's job handlers: delivery jobs of the outcomes queue (`sync.succeeded`,
 * `sync.started`, `sync.batch`) and the hook intake calls for each failure event. The
 * composition root starts one desk per worker process and closes it after the workers.
 *
 * A delivery job completes once its records are staged in the write-ahead log (a Redis stream,
 * src/deliveries/wal.ts); each desk flushes the log into the figures at most once per
 * `flushMs` (src/deliveries/recorder.ts), and after each commit runs what follows a flush:
 * recovery of exceptions the successes prove fixed, the gates' hook, the Prometheus counts.
 */
import { randomUUID } from "node:crypto";

import type { Deps } from "../app/deps.js";
import { type FailureEvent, failureEventSchema } from "../intake/failure-event.schema.js";
import { rejectionTargetOf } from "../intake/rejection-groups.js";
import { check } from "../intake/validation.js";
import { type GatedSuccess, recoverFromSuccesses } from "../outcomes/outcome.service.js";
import type { Tx } from "../platform/db/db.js";
import { isTransientError } from "../platform/transient.js";
import { pipelineFor } from "../routing/evaluate.js";
import { type DeliveryRecord, judgeDeliveryJob, NO_PIPELINE } from "./delivery.js";
import { countFlush } from "./delivery-metrics.js";
import { type FlushResult, flushInTx, flushRecords } from "./flush.repo.js";
import { createDeliveryRecorder, type FlushOutcome } from "./recorder.js";
import { parseStreamId } from "./stream-id.js";
import { openDeliveryWal } from "./wal.js";
import { commitWalFlush } from "./wal-flush.repo.js";

export interface DeliveryDesk {
  /** One job of the outcomes queue; resolves once its deliveries are staged in the WAL. */
  handleOutcomeJob(job: { id: string; data: unknown }): Promise<"recorded" | "rejected">;
  /**
   * Failure events were taken in (one intake batch): each counts as a failed delivery and
   * ends a started one, in one flush.
   */
  failuresSeen(data: readonly unknown[]): Promise<void>;
  /** One flush of the WAL now (besides the timer's), for tests and tools. */
  flush(): Promise<FlushOutcome>;
  /**
   * `failuresSeen` inside the intake batch's own transaction (no second transaction per
   * batch), under a savepoint: a blip throws (the batch is retried), any other error is logged
   * and rolled back to the savepoint, so the intake commits uncounted rather than failing.
   * The returned function, called once the transaction committed, counts the flush in metrics
   * and ends the late gates of the failed deliveries.
   */
  failuresSeenIn(tx: Tx, events: readonly FailureEvent[]): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Desk defaults beside the settings the composition root passes. */
export const DESK_DEFAULTS = {
  stageMs: 20,
  stageRecords: 500,
  maxBacklog: 200_000,
  /** Records one flush takes at most: twice the `sync.batch` target per second. */
  flushRecords: 50_000,
  /** How long a flusher's follow-ups are left to it before another flusher takes them over. */
  followUpLeaseMs: 30_000,
  /**
   * Counted entries whose follow-ups still fail this long after they were staged leave the log
   * (their figures stand; their recoveries are skipped, the gate sweep re-judges the gates):
   * one follow-up that always fails must not fill the log and stop counting.
   */
  followUpGiveUpMs: 600_000,
};

/** When an entry was staged: its stream id's milliseconds (Redis's clock). */
const stagedAt = (id: string) => Number(parseStreamId(id)[0]);

export function startDeliveryDesk(
  deps: Deps,
  settings: Partial<typeof DESK_DEFAULTS> & {
    flushMs: number;
    /**
     * After each committed flush (and after failures are counted), before its entries leave
     * the WAL (so a failure, or a flusher killed, runs it again; it must be idempotent): the
     * composition root hangs the latency gates here.
     */
    afterFlush?: (
      records: readonly DeliveryRecord[],
      gated: readonly GatedSuccess[],
    ) => Promise<void>;
  },
): DeliveryDesk {
  const flushOptions = () => ({
    receivedAt: deps.clock.now().getTime(),
    rejectionTarget: rejectionTargetOf(deps.routing.current().config),
  });
  const flush = (records: DeliveryRecord[]) => flushRecords(deps.db, records, flushOptions());
  /** A failure event counts as a failed delivery of its pipeline. */
  const failedRecord = (
    config: ReturnType<Deps["routing"]["current"]>["config"],
    event: FailureEvent,
  ): Extract<DeliveryRecord, { kind: "failed" }> => ({
    kind: "failed",
    eventId: event.eventId,
    pipeline: pipelineFor(config, event)?.name ?? NO_PIPELINE,
    client: event.client,
    targetSystem: event.targetSystem,
    occurredAt: Date.parse(event.occurredAt),
  });
  /**
   * Counts failure events as failed deliveries with `write`; returns what follows the commit:
   * the Prometheus counts, and the end of the late gates those failures end (logged, never
   * thrown: the failures are carded already, and a late exception left open waits for the
   * SKU's next success instead). A blip throws, so the failure jobs run again (intake is
   * idempotent, the count deduped); any other error must not fail an intake already carded.
   */
  const countFailures = async (
    records: Extract<DeliveryRecord, { kind: "failed" }>[],
    write: () => Promise<FlushResult>,
  ): Promise<() => Promise<void>> => {
    const eventIds = records.slice(0, 20).map((r) => r.eventId);
    let result: FlushResult;
    try {
      result = await write();
    } catch (error) {
      if (isTransientError(error)) throw error;
      deps.logger.error({ err: error, eventIds }, "could not count failed deliveries");
      return async () => {};
    }
    return async () => {
      countFlush(result);
      try {
        await settings.afterFlush?.(records, []);
      } catch (error) {
        deps.logger.error(
          { err: error, eventIds },
          "could not end the late gates of failed deliveries",
        );
      }
    };
  };
  const successesOf = (records: DeliveryRecord[]) =>
    records.flatMap((record) =>
      record.kind === "delivered"
        ? [
            {
              client: record.client,
              sku: record.sku,
              targetSystem: record.targetSystem,
              occurredAt: record.occurredAt,
              ...(record.jobId ? { jobId: record.jobId } : {}),
            },
          ]
        : [],
    );
  const desk = { ...DESK_DEFAULTS, ...settings };
  const logger = deps.logger.child({ component: "deliveries" });
  const wal = openDeliveryWal(deps.queues.connection, deps.queues.prefix);
  const owner = randomUUID();
  // After a commit: idempotent, so a flusher killed before it removes its entries is harmless
  // (the next flush runs this again for them). Metrics only for what this flush counted.
  const followUp = async (records: DeliveryRecord[], result: FlushResult | null) => {
    const recovery = await recoverFromSuccesses(deps, successesOf(records));
    await settings.afterFlush?.(
      records.filter((record) => record.kind !== "rejected"),
      recovery.gated,
    );
    if (result) countFlush(result);
  };
  const flushWal = async (): Promise<FlushOutcome> => {
    // An empty log costs one Redis call, not a Postgres transaction, per desk per interval.
    if ((await wal.length()) === 0) return "idle";
    const commit = await commitWalFlush(deps.db, wal, {
      ...flushOptions(),
      owner,
      leaseMs: desk.followUpLeaseMs,
      maxRecords: desk.flushRecords,
    });
    if (commit.kind !== "counted") return commit.kind;
    const entries = [...commit.orphans, ...commit.fresh];
    const unreadable = entries.filter((entry) => entry.unreadable);
    if (unreadable.length > 0)
      logger.error(
        { ids: unreadable.map((entry) => entry.id), records: unreadable.map((e) => e.n) },
        "unreadable delivery WAL entries skipped",
      );
    if (commit.orphans.length > 0)
      logger.warn({ entries: commit.orphans.length }, "following up a flush that did not finish");
    try {
      await followUp(
        entries.flatMap((entry) => entry.records),
        commit.result,
      );
    } catch (error) {
      const now = deps.clock.now().getTime();
      const expired = entries.filter((entry) => now - stagedAt(entry.id) >= desk.followUpGiveUpMs);
      if (expired.length > 0) {
        logger.error(
          {
            err: error,
            entries: expired.length,
            records: expired.reduce((sum, entry) => sum + entry.n, 0),
          },
          "gave up following up counted deliveries: their figures stand, their recoveries are skipped, the gate sweep re-judges the gates",
        );
        await wal.remove(expired);
      }
      throw error;
    }
    await wal.remove(entries);
    return "flushed";
  };
  const recorder = createDeliveryRecorder({
    logger,
    stageMs: desk.stageMs,
    stageRecords: desk.stageRecords,
    flushMs: desk.flushMs,
    maxBacklog: desk.maxBacklog,
    stage: (records) => wal.append(records),
    backlog: () => wal.backlog(),
    flush: flushWal,
  });

  return {
    async handleOutcomeJob(job) {
      const { config } = deps.routing.current();
      const records = judgeDeliveryJob(config, job.data, deps.clock.now().getTime());
      for (const record of records) if (record.kind === "delivered") record.jobId = job.id;
      await recorder.record(records);
      return records.every((record) => record.kind === "rejected") ? "rejected" : "recorded";
    },
    async failuresSeen(data) {
      const { config } = deps.routing.current();
      const records = data.flatMap((item) => {
        // The same checks intake made (lone surrogates become U+FFFD), so what intake took in
        // is what is counted, and Postgres can store its eventId.
        const checked = check(failureEventSchema, item);
        return checked.ok ? [failedRecord(config, checked.value)] : [];
      });
      if (records.length === 0) return;
      // Written at once with the batch intake took in, not held for the next flush of deliveries.
      await (await countFailures(records, () => flush(records)))();
    },
    flush: () => recorder.flush(),
    async failuresSeenIn(tx, events) {
      const { config } = deps.routing.current();
      const records = events.map((event) => failedRecord(config, event));
      if (records.length === 0) return async () => {};
      return countFailures(records, () =>
        tx.transaction((savepoint) => flushInTx(savepoint, records, flushOptions())),
      );
    },
    close: () => recorder.close(),
  };
}
