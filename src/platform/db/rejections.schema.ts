/**
 * Rejected events grouped by producer and problem (src/intake/rejection-groups.ts): one Slack
 * card per open group, in the producer's role's channel, with a count redrawn in place. The
 * events themselves stay in `rejected_events` (and delivery ones counted in
 * `delivery_rejections`); a group only says who sent what kind of bad data, how often.
 */
import { sql } from "drizzle-orm";
import { bigint, bigserial, index, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { ts } from "./columns.js";

export const REJECTION_KINDS = ["failure", "outcome", "delivery"] as const;
export type RejectionKind = (typeof REJECTION_KINDS)[number];

export const rejectionGroups = pgTable(
  "rejection_groups",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** Which contract the events broke. */
    kind: text("kind").$type<RejectionKind>().notNull(),
    /** The producer as named on the card (HTTP producer name, else sourceSystem). */
    producer: text("producer").notNull(),
    /** The grouping key of what was wrong (paths and messages, values left out). */
    problem: text("problem").notNull(),
    role: text("role").notNull(),
    channel: text("channel").notNull(),
    count: integer("count").notNull().default(0),
    firstSeenAt: ts("first_seen_at").notNull(),
    lastSeenAt: ts("last_seen_at").notNull(),
    /** The latest event as received (capped), and its problems as lines. */
    sample: text("sample").notNull(),
    details: text("details").notNull().default(""),
    /** The latest rejected_events row of the group (none for delivery events). */
    lastRejectedId: bigint("last_rejected_id", { mode: "number" }),
    cardTs: text("card_ts"),
    cardChannel: text("card_channel"),
    reviewedBy: text("reviewed_by"),
    reviewedAt: ts("reviewed_at"),
  },
  (t) => [
    // One open group per producer and problem; after review the next one starts a new group.
    uniqueIndex("rejection_groups_open")
      .on(t.kind, t.producer, t.problem)
      .where(sql`reviewed_at is null`),
    index("rejection_groups_last_seen").on(t.lastSeenAt),
  ],
);
