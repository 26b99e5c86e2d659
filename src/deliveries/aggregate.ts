/**
 * Counted delivery records folded into figure rows, one per pipeline, client, target and time
 * bucket (minute and hour): exact counters beside a time-to-sync sketch. Pure.
 */
import { type DeliveryRecord, timeToSync } from "./delivery.js";
import { addValue, type Sketch } from "./sketch.js";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** The exact counters of some deliveries, beside their time-to-sync sketch. */
export interface DeliveryCounts {
  deliveries: number;
  failures: number;
  clamped: number;
  duplicates: number;
  timed: number;
  sumMs: number;
  maxMs: number | null;
  sketch: Sketch;
}

export const noDeliveries = (): DeliveryCounts => ({
  deliveries: 0,
  failures: 0,
  clamped: 0,
  duplicates: 0,
  timed: 0,
  sumMs: 0,
  maxMs: null,
  sketch: {},
});

export interface FigureRow extends DeliveryCounts {
  /** Start of the bucket, epoch ms. */
  bucket: number;
  pipeline: string;
  client: string;
  targetSystem: string;
  lastDeliveredAt: number | null;
}

/** A delivery as counted: its record, whether it counts (not a duplicate), its time-to-sync. */
export interface Counted {
  record: Exclude<DeliveryRecord, { kind: "rejected" }>;
  duplicate: boolean;
  /** For a delivery without triggeredAt: the triggeredAt of the started delivery it ended. */
  startedTriggeredAt?: number;
}

/** Each delivery is placed at the minute it happened, but never later than it was received. */
function placedAt(counted: Counted, receivedAt: number): number {
  const { record } = counted;
  const at = record.kind === "started" ? record.startedAt : record.occurredAt;
  return Math.min(at, receivedAt);
}

export function foldRows(
  counted: readonly Counted[],
  receivedAt: number,
  sizeMs: number,
): FigureRow[] {
  const rows = new Map<string, FigureRow>();
  for (const item of counted) {
    const { record } = item;
    const bucket = Math.floor(placedAt(item, receivedAt) / sizeMs) * sizeMs;
    const key = `${bucket}\u0000${record.pipeline}\u0000${record.client}\u0000${record.targetSystem}`;
    let row = rows.get(key);
    if (!row) {
      row = {
        bucket,
        pipeline: record.pipeline,
        client: record.client,
        targetSystem: record.targetSystem,
        ...noDeliveries(),
        lastDeliveredAt: null,
      };
      rows.set(key, row);
    }
    if (item.duplicate) {
      row.duplicates += 1;
      continue;
    }
    switch (record.kind) {
      case "started":
        if (record.clamped) row.clamped += 1;
        break;
      case "failed":
        row.failures += 1;
        break;
      case "delivered": {
        row.deliveries += 1;
        // A delivery "from the future" (producer clock) is as fresh as now, no fresher.
        row.lastDeliveredAt = Math.max(
          row.lastDeliveredAt ?? 0,
          Math.min(record.occurredAt, receivedAt),
        );
        const time = timeToSync(record.occurredAt, record.triggeredAt ?? item.startedTriggeredAt);
        if (!time) break;
        if (time.clamped) row.clamped += 1;
        row.timed += 1;
        row.sumMs += time.ms;
        row.maxMs = Math.max(row.maxMs ?? 0, time.ms);
        addValue(row.sketch, time.ms);
        break;
      }
    }
  }
  // A stable order: every flush locks rows in the same order, so two workers never deadlock.
  return [...rows.values()].sort(
    (a, b) =>
      a.bucket - b.bucket ||
      cmp(a.pipeline, b.pipeline) ||
      cmp(a.client, b.client) ||
      cmp(a.targetSystem, b.targetSystem),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
