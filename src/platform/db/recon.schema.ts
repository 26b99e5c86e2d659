/**
 * The reconciliation tables (src/recon): inventory snapshots as they arrive in parts, their
 * items, the rejections kept with their reasons, and each run's evidence and deltas. Re-exported
 * by schema.ts so drizzle-kit and every import of the schema see one set of tables.
 */
import {
  bigint,
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  text,
} from "drizzle-orm/pg-core";
import { ts } from "./columns.js";

export const SNAPSHOT_STATES = ["receiving", "complete", "rejected", "expired"] as const;
export type SnapshotState = (typeof SNAPSHOT_STATES)[number];

/** One snapshot of one system's stock. `key` is ours (items carry it); `id` the producer's. */
export const snapshots = pgTable(
  "snapshots",
  {
    key: bigserial("key", { mode: "number" }).primaryKey(),
    id: text("id").notNull().unique(),
    client: text("client").notNull(),
    system: text("system").notNull(),
    takenAt: ts("taken_at").notNull(),
    parts: integer("parts").notNull(),
    partsReceived: integer("parts_received").notNull().default(0),
    /** Item lines received so far (all parts). */
    itemCount: bigint("item_count", { mode: "number" }).notNull().default(0),
    /** Distinct SKUs, once complete. */
    skuCount: bigint("sku_count", { mode: "number" }),
    state: text("state", { enum: SNAPSHOT_STATES }).notNull().default("receiving"),
    /** Why it was rejected or expired, as the owner reads it. */
    reason: text("reason"),
    /** sha256 of its items in SKU order, once complete: the evidence a run names. */
    contentHash: text("content_hash"),
    firstPartAt: ts("first_part_at").notNull().defaultNow(),
    completedAt: ts("completed_at"),
  },
  (t) => [
    index("snapshots_latest_idx").on(t.client, t.system, t.state, t.takenAt),
    index("snapshots_receiving_idx").on(t.state, t.firstPartAt),
  ],
);

/** Which parts of a snapshot arrived: a redelivered part finds its row and changes nothing. */
export const snapshotParts = pgTable(
  "snapshot_parts",
  {
    snapshotKey: bigint("snapshot_key", { mode: "number" })
      .notNull()
      .references(() => snapshots.key, { onDelete: "cascade" }),
    part: integer("part").notNull(),
    itemCount: integer("item_count").notNull(),
    receivedAt: ts("received_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.snapshotKey, t.part] })],
);

/**
 * Item lines, loaded set-based (one multi-row insert per part). No foreign key and no key of
 * their own: checking either per row costs more than the load; the snapshot's deletion (retention,
 * expiry) deletes its items by `snapshot_key`, which is indexed.
 */
export const snapshotItems = pgTable(
  "snapshot_items",
  {
    snapshotKey: bigint("snapshot_key", { mode: "number" }).notNull(),
    sku: text("sku").notNull(),
    quantity: bigint("quantity", { mode: "number" }).notNull(),
    /** "" when the producer named no location. */
    location: text("location").notNull().default(""),
  },
  (t) => [index("snapshot_items_snapshot_idx").on(t.snapshotKey)],
);

/** A part or snapshot refused, with its reason; shown to the client's owner. */
export const snapshotRejections = pgTable(
  "snapshot_rejections",
  {
    id: serial("id").primaryKey(),
    snapshotId: text("snapshot_id"),
    client: text("client"),
    system: text("system"),
    part: integer("part"),
    /** A code (contract, parts_mismatch, header_mismatch, duplicate_skus, expired, closed). */
    reason: text("reason").notNull(),
    detail: text("detail").notNull(),
    /** The queue job it came from, when it came from one. */
    jobId: text("job_id"),
    receivedAt: ts("received_at").notNull().defaultNow(),
  },
  (t) => [index("snapshot_rejections_received_idx").on(t.receivedAt)],
);

export const RECON_CLASSES = ["matched", "mismatch", "missing", "unexpected"] as const;
export type ReconClass = (typeof RECON_CLASSES)[number];

export const RECON_OUTCOMES = ["compared", "skipped"] as const;

/** One reconciliation of one consumer snapshot against its source of truth's: the evidence. */
export const reconRuns = pgTable(
  "recon_runs",
  {
    id: serial("id").primaryKey(),
    client: text("client").notNull(),
    /** The consumer compared (a target system). */
    system: text("system").notNull(),
    sourceSystem: text("source_system").notNull(),
    outcome: text("outcome", { enum: RECON_OUTCOMES }).notNull(),
    /** Why nothing was compared (skipped). */
    reason: text("reason"),
    /** A Slack user id, or `schedule` / `snapshot`. */
    startedBy: text("started_by").notNull(),
    sourceSnapshotKey: bigint("source_snapshot_key", { mode: "number" }),
    consumerSnapshotKey: bigint("consumer_snapshot_key", { mode: "number" }),
    routingVersion: integer("routing_version"),
    tolerance: integer("tolerance").notNull().default(0),
    matched: bigint("matched", { mode: "number" }).notNull().default(0),
    mismatched: bigint("mismatched", { mode: "number" }).notNull().default(0),
    missing: bigint("missing", { mode: "number" }).notNull().default(0),
    unexpected: bigint("unexpected", { mode: "number" }).notNull().default(0),
    absDeltaSum: bigint("abs_delta_sum", { mode: "number" }).notNull().default(0),
    /** sha256 of the delta set in SKU order: replaying the run must give the same. */
    deltaHash: text("delta_hash"),
    /** Everything above and both snapshots' ids, takenAt, counts and hashes, as audited. */
    evidence: jsonb("evidence").$type<Record<string, unknown>>().notNull().default({}),
    compareMs: integer("compare_ms"),
    /** The Slack file of the full delta list (CSV), once uploaded: a job run twice uploads once. */
    reportFileId: text("report_file_id"),
    startedAt: ts("started_at").notNull().defaultNow(),
  },
  (t) => [index("recon_runs_client_idx").on(t.client, t.startedAt)],
);

/** The SKUs a run found not matched, with both quantities and the signed delta. */
export const reconDeltas = pgTable(
  "recon_deltas",
  {
    runId: integer("run_id")
      .notNull()
      .references(() => reconRuns.id, { onDelete: "cascade" }),
    sku: text("sku").notNull(),
    class: text("class", { enum: RECON_CLASSES }).notNull(),
    /** Source of truth's quantity; null when missing there (unexpected in the consumer). */
    sourceQuantity: bigint("source_quantity", { mode: "number" }),
    /** Consumer's quantity; null when missing in the consumer. */
    consumerQuantity: bigint("consumer_quantity", { mode: "number" }),
    /** consumer - source, a missing side read as 0. */
    delta: bigint("delta", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.sku] })],
);
