/**
 * The delivery-figure tables (src/deliveries), beside the rest of the schema in schema.ts, which
 * re-exports them so drizzle-kit and every import of the schema see one set of tables.
 */
import {
  bigint,
  doublePrecision,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
} from "drizzle-orm/pg-core";
import { ts } from "./columns.js";

/**
 * The columns of one delivery-figures row: exact counters and a time-to-sync sketch (bucket ->
 * count, src/deliveries/sketch.ts) for one pipeline, client and target in one time bucket.
 * Never a row per delivery. `pipeline` is "" for deliveries no declared pipeline takes.
 */
const deliveryFigureColumns = {
  pipeline: text("pipeline").notNull(),
  client: text("client").notNull(),
  targetSystem: text("target_system").notNull(),
  deliveries: bigint("deliveries", { mode: "number" }).notNull().default(0),
  failures: bigint("failures", { mode: "number" }).notNull().default(0),
  /** Deliveries whose triggeredAt was in the future or after occurredAt: timed as 0. */
  clamped: bigint("clamped", { mode: "number" }).notNull().default(0),
  /** Delivery events whose eventId had been counted already (redeliveries). */
  duplicates: bigint("duplicates", { mode: "number" }).notNull().default(0),
  /** Deliveries with a time-to-sync (a triggeredAt); the sketch's count. */
  timed: bigint("timed", { mode: "number" }).notNull().default(0),
  sumMs: doublePrecision("sum_ms").notNull().default(0),
  maxMs: doublePrecision("max_ms"),
  sketch: jsonb("sketch").$type<Record<string, number>>().notNull().default({}),
  /** The latest successful delivery (occurredAt) in the bucket. */
  lastDeliveredAt: ts("last_delivered_at"),
};

/** Per minute: the recent windows (1h) and the edges of longer ones. Pruned by minute. */
export const deliveryMinutes = pgTable(
  "delivery_minutes",
  { minute: ts("minute").notNull(), ...deliveryFigureColumns },
  (t) => [primaryKey({ columns: [t.minute, t.pipeline, t.client, t.targetSystem] })],
);

/** The same figures per hour, written by the same flush: the hours between a window's edges. */
export const deliveryHours = pgTable(
  "delivery_hours",
  { hour: ts("hour").notNull(), ...deliveryFigureColumns },
  (t) => [primaryKey({ columns: [t.hour, t.pipeline, t.client, t.targetSystem] })],
);

/**
 * The same figures per UTC day, written by the same flush: the whole days of 24h to 30d windows,
 * so a 30-day answer merges about 50 rows per pipeline, client and target instead of 720.
 */
export const deliveryDays = pgTable(
  "delivery_days",
  { day: ts("day").notNull(), ...deliveryFigureColumns },
  (t) => [primaryKey({ columns: [t.day, t.pipeline, t.client, t.targetSystem] })],
);

/**
 * Delivery events already counted, by eventId and outcome ("d" delivered, "f" failed): a job
 * run again after a crash counts once. Pruned with the minute rows (by `minute`).
 */
export const deliverySeen = pgTable(
  "delivery_seen",
  {
    eventId: text("event_id").notNull(),
    outcome: text("outcome").$type<"d" | "f">().notNull(),
    minute: ts("minute").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.eventId, t.outcome] }),
    index("delivery_seen_minute").on(t.minute),
  ],
);

/**
 * Deliveries started (`sync.started`) and not ended yet: deleted by their success or failure.
 * `deadlineAt` (triggeredAt + the pipeline's budget) is what a late-delivery gate waits for.
 */
export const deliveryInflight = pgTable(
  "delivery_inflight",
  {
    eventId: text("event_id").primaryKey(),
    pipeline: text("pipeline").notNull(),
    client: text("client").notNull(),
    sku: text("sku").notNull(),
    sourceSystem: text("source_system").notNull(),
    targetSystem: text("target_system").notNull(),
    triggeredAt: ts("triggered_at").notNull(),
    startedAt: ts("started_at").notNull(),
    /**
     * null: no pipeline takes it, so no budget applies. The late-delivery gate moves it to the
     * opening of the pipeline's hours when it falls outside them (gates sleep outside hours).
     */
    deadlineAt: ts("deadline_at"),
    /** When the late-delivery gate opened an exception for it; null until then. */
    gatedAt: ts("gated_at"),
  },
  (t) => [
    index("delivery_inflight_deadline").on(t.deadlineAt),
    index("delivery_inflight_started").on(t.startedAt),
  ],
);

/**
 * Delivery events that broke their contract, grouped: one row per producer source and problem,
 * counted, with the latest sample. Never a row (or a card) per bad event.
 */
export const deliveryRejections = pgTable(
  "delivery_rejections",
  {
    /** The event's sourceSystem when it had a readable one, else "(unknown)". */
    source: text("source").notNull(),
    /** "path: message", e.g. "triggeredAt: must be a real date and time". */
    problem: text("problem").notNull(),
    count: bigint("count", { mode: "number" }).notNull(),
    firstSeenAt: ts("first_seen_at").notNull(),
    lastSeenAt: ts("last_seen_at").notNull(),
    sample: text("sample").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.source, t.problem] }),
    index("delivery_rejections_last_seen").on(t.lastSeenAt),
  ],
);

/** The one grouped card of rejected delivery events per UTC day, redrawn as counts grow. */
export const deliveryRejectionCards = pgTable("delivery_rejection_cards", {
  day: text("day").primaryKey(),
  channel: text("channel"),
  cardTs: text("card_ts"),
  drawnAt: ts("drawn_at").notNull(),
});

/**
 * Since when the gates watch a pipeline: the stale gate counts a pipeline that never delivered
 * from here, so a restart does not reset its clock. One row per pipeline name, kept while the
 * name is declared (a renamed pipeline starts afresh).
 */
export const pipelineWatch = pgTable("pipeline_watch", {
  pipeline: text("pipeline").primaryKey(),
  watchedSince: ts("watched_since").notNull(),
  /**
   * The deadline the stale gate's timer is armed for. Deliveries only move the deadline later,
   * so while this timer is ahead no other is armed: it wakes, judges again and arms the next.
   */
  staleTimerAt: ts("stale_timer_at"),
});

/**
 * How far each delivery write-ahead log (a Redis stream, src/deliveries/wal.ts) is counted:
 * `lastId` is the last stream entry whose records are in the figures, moved in the same
 * transaction that counts them, so an entry is counted once whatever dies when. The row is
 * also the flushers' lock (`for update`): one flush at a time across processes. `followUpBy`
 * and `followUpUntil` say which flusher is running the follow-ups (recovery, gates) of the
 * entries it just counted: until then another flusher leaves them alone, after that it takes
 * them over (their flusher died between its commit and trimming the stream).
 */
export const deliveryWalMarks = pgTable("delivery_wal_marks", {
  stream: text("stream").primaryKey(),
  lastId: text("last_id").notNull(),
  followUpBy: text("follow_up_by"),
  followUpUntil: ts("follow_up_until"),
});
