/**
 * Prometheus figures of deliveries, on the process registry: the time-to-sync histogram and
 * delivery counters per pipeline, counted after their flush committed (so a redelivered event
 * is not counted twice). "none" labels deliveries no pipeline takes.
 */
import { counter, histogram } from "../platform/metrics.js";
import type { FlushResult } from "./flush.repo.js";

export const deliveryMetrics = {
  timeToSync: histogram(
    "syncdesk_time_to_sync_seconds",
    "Time from a change in the system of record (triggeredAt) to its delivery, per pipeline.",
    ["pipeline"],
    [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
  ),
  /** outcome: delivered, failed. */
  deliveries: counter(
    "syncdesk_deliveries_total",
    "Deliveries counted per pipeline, by outcome (delivered, failed).",
    ["pipeline", "outcome"],
  ),
  clamped: counter(
    "syncdesk_deliveries_clamped_total",
    "Deliveries whose triggeredAt was in the future or after occurredAt (timed as 0).",
    ["pipeline"],
  ),
  duplicates: counter(
    "syncdesk_deliveries_deduplicated_total",
    "Delivery events whose eventId had been counted already.",
    ["pipeline"],
  ),
  rejected: counter(
    "syncdesk_delivery_events_rejected_total",
    "Delivery events that broke their contract (grouped in delivery_rejections).",
  ),
};

export const pipelineLabel = (pipeline: string) => (pipeline === "" ? "none" : pipeline);

export function countFlush(result: FlushResult): void {
  for (const row of result.minuteRows) {
    const pipeline = pipelineLabel(row.pipeline);
    if (row.deliveries)
      deliveryMetrics.deliveries.inc({ pipeline, outcome: "delivered" }, row.deliveries);
    if (row.failures) deliveryMetrics.deliveries.inc({ pipeline, outcome: "failed" }, row.failures);
    if (row.clamped) deliveryMetrics.clamped.inc({ pipeline }, row.clamped);
    if (row.duplicates) deliveryMetrics.duplicates.inc({ pipeline }, row.duplicates);
  }
  if (result.rejected.length) deliveryMetrics.rejected.inc(result.rejected.length);
  for (const item of result.counted) {
    const { record } = item;
    if (item.duplicate || record.kind !== "delivered") continue;
    const triggeredAt = record.triggeredAt ?? item.startedTriggeredAt;
    if (triggeredAt === undefined) continue;
    deliveryMetrics.timeToSync.observe(
      { pipeline: pipelineLabel(record.pipeline) },
      Math.max(0, record.occurredAt - triggeredAt) / 1000,
    );
  }
}
