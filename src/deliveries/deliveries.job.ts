/**
 * The deliveries feature's job handlers: delivery jobs of the outcomes queue (`sync.succeeded`,
 * `sync.started`, `sync.batch`) and the hook intake calls for each failure event. The
 * composition root starts one desk per worker process and closes it after the workers.
 */

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
import { createDeliveryRecorder } from "./recorder.js";

export interface DeliveryDesk {
  /** One job of the outcomes queue; resolves once its deliveries are committed. */
  handleOutcomeJob(job: { id: string; data: unknown }): Promise<"recorded" | "rejected">;
  /**
   * Failure events were taken in (one intake batch): each counts as a failed delivery and
   * ends a started one, in one flush.
   */
  failuresSeen(data: readonly unknown[]): Promise<void>;
  /**
   * `failuresSeen` inside the intake batch's own transaction (no second transaction per
   * batch), under a savepoint: a blip throws (the batch is retried), any other error is logged
   * and rolled back to the savepoint, so the intake commits uncounted rather than failing.
   * The returned function, called once the transaction committed, counts the flush in metrics.
   */
  failuresSeenIn(tx: Tx, events: readonly FailureEvent[]): Promise<() => void>;
  close(): Promise<void>;
}

export function startDeliveryDesk(
  deps: Deps,
  settings: {
    flushMs: number;
    /**
     * After each committed flush, before its jobs resolve (so a failure runs them again; it
     * must be idempotent): the composition root hangs the latency gates here.
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
  const notCounted = (error: unknown, eventIds: readonly (string | undefined)[]) => {
    // A blip: the failure jobs run again (intake is idempotent, the count deduped). Any
    // other error must not fail the intake of failures that are already carded.
    if (isTransientError(error)) throw error;
    deps.logger.error(
      { err: error, eventIds: eventIds.slice(0, 20) },
      "could not count failed deliveries",
    );
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
  const recorder = createDeliveryRecorder({
    flushMs: settings.flushMs,
    logger: deps.logger.child({ component: "deliveries" }),
    // Recovery reads exceptions, the flush writes figures: side by side, both before the jobs
    // resolve (both are idempotent, so a job run again after a failure of either is harmless).
    flush: async (records) => {
      const [result, recovery] = await Promise.all([
        flush(records),
        recoverFromSuccesses(deps, successesOf(records)),
      ]);
      // Duplicates (a redelivery, a redone flush) are left in: what follows is idempotent.
      await settings.afterFlush?.(
        records.filter((record) => record.kind !== "rejected"),
        recovery.gated,
      );
      return result;
    },
    async afterFlush(result) {
      countFlush(result);
    },
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
      try {
        // Written at once with the batch intake took in, not held for the next flush of deliveries.
        countFlush(await flush(records));
      } catch (error) {
        notCounted(
          error,
          records.map((r) => r.eventId),
        );
      }
    },
    async failuresSeenIn(tx, events) {
      const { config } = deps.routing.current();
      const records = events.map((event) => failedRecord(config, event));
      if (records.length === 0) return () => {};
      let result: FlushResult | undefined;
      try {
        result = await tx.transaction((savepoint) => flushInTx(savepoint, records, flushOptions()));
      } catch (error) {
        notCounted(
          error,
          records.map((r) => r.eventId),
        );
      }
      return () => {
        if (result) countFlush(result);
      };
    },
    close: () => recorder.close(),
  };
}
