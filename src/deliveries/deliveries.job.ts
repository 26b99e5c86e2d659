/**
 * The deliveries feature's job handlers: delivery jobs of the outcomes queue (`sync.succeeded`,
 * `sync.started`, `sync.batch`) and the hook intake calls for each failure event. The
 * composition root starts one desk per worker process and closes it after the workers.
 */

import type { Deps } from "../app/deps.js";
import { failureEventSchema } from "../intake/failure-event.schema.js";
import { rejectionTargetOf } from "../intake/rejection-groups.js";
import { check } from "../intake/validation.js";
import { type GatedSuccess, recoverFromSuccesses } from "../outcomes/outcome.service.js";
import { isTransientError } from "../platform/transient.js";
import { pipelineFor } from "../routing/evaluate.js";
import { type DeliveryRecord, judgeDeliveryJob, NO_PIPELINE } from "./delivery.js";
import { countFlush } from "./delivery-metrics.js";
import { flushRecords } from "./flush.repo.js";
import { createDeliveryRecorder } from "./recorder.js";

export interface DeliveryDesk {
  /** One job of the outcomes queue; resolves once its deliveries are committed. */
  handleOutcomeJob(job: { id: string; data: unknown }): Promise<"recorded" | "rejected">;
  /**
   * Failure events were taken in (one intake batch): each counts as a failed delivery and
   * ends a started one, in one flush.
   */
  failuresSeen(data: readonly unknown[]): Promise<void>;
  close(): Promise<void>;
}

export function startDeliveryDesk(
  deps: Deps,
  settings: {
    flushMs: number;
    /**
     * After each committed flush (and after failures are counted), before its jobs resolve (so a failure runs them again; it
     * must be idempotent): the composition root hangs the latency gates here.
     */
    afterFlush?: (
      records: readonly DeliveryRecord[],
      gated: readonly GatedSuccess[],
    ) => Promise<void>;
  },
): DeliveryDesk {
  const flush = async (records: DeliveryRecord[]) => {
    const result = await flushRecords(deps.db, records, {
      receivedAt: deps.clock.now().getTime(),
      rejectionTarget: rejectionTargetOf(deps.routing.current().config),
    });
    return result;
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
      const records = data.flatMap((item): Extract<DeliveryRecord, { kind: "failed" }>[] => {
        // The same checks intake made (lone surrogates become U+FFFD), so what intake took in
        // is what is counted, and Postgres can store its eventId.
        const checked = check(failureEventSchema, item);
        if (!checked.ok) return [];
        const event = checked.value;
        return [
          {
            kind: "failed",
            eventId: event.eventId,
            pipeline: pipelineFor(config, event)?.name ?? NO_PIPELINE,
            client: event.client,
            targetSystem: event.targetSystem,
            occurredAt: Date.parse(event.occurredAt),
          },
        ];
      });
      if (records.length === 0) return;
      try {
        // Written at once with the batch intake took in, not held for the next flush of deliveries.
        countFlush(await flush(records));
        // A failure that ends a started delivery ends its late gate too.
        await settings.afterFlush?.(records, []);
      } catch (error) {
        // A blip: the failure jobs run again (intake is idempotent, the count deduped). Any
        // other error must not fail the intake of failures that are already carded.
        if (isTransientError(error)) throw error;
        deps.logger.error(
          { err: error, eventIds: records.slice(0, 20).map((r) => r.eventId) },
          "could not count failed deliveries",
        );
      }
    },
    close: () => recorder.close(),
  };
}
