/**
 * The whole database schema, in one file so drizzle-kit sees every table and a reader sees
 * every relation at once. Postgres is the truth: BullMQ jobs and Slack messages are derived
 * from these rows and can be rebuilt from them.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import type { FailureEvent } from "../contracts/failure-event.schema.js";
import { ts } from "./columns.js";

export const EXCEPTION_STATES = ["open", "claimed", "retrying", "resolved"] as const;
export type ExceptionState = (typeof EXCEPTION_STATES)[number];

export const RESOLUTIONS = ["manual", "retry", "recovered"] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export const ROOT_CAUSES = [
  "source_data",
  "target_outage",
  "mapping_schema",
  "pipeline_bug",
  "other",
] as const;
export type RootCause = (typeof ROOT_CAUSES)[number];

/** One row per episode of a failure fingerprint: a repeat after resolution opens a new row. */
export const exceptions = pgTable(
  "exceptions",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    fingerprint: text("fingerprint").notNull(),
    client: text("client").notNull(),
    vertical: text("vertical"),
    sku: text("sku").notNull(),
    sourceSystem: text("source_system").notNull(),
    targetSystem: text("target_system").notNull(),
    operation: text("operation").notNull(),
    failureMode: text("failure_mode").notNull(),
    state: text("state").$type<ExceptionState>().notNull().default("open"),
    severity: text("severity").notNull(),
    role: text("role").notNull(),
    ruleIndex: integer("rule_index").notNull(),
    routingVersion: integer("routing_version"),
    /** The event that opened this episode, then the latest one (error, quantity, links, retry). */
    firstEvent: jsonb("first_event").$type<FailureEvent>().notNull(),
    latestEvent: jsonb("latest_event").$type<FailureEvent>().notNull(),
    occurrences: integer("occurrences").notNull().default(1),
    /**
     * W3C traceparent of the intake span of the latest event (src/platform/tracing.ts): a click
     * or a retry's result, days later, continues this trace. Null with tracing off.
     */
    traceContext: text("trace_context"),
    firstSeenAt: ts("first_seen_at").notNull(),
    lastSeenAt: ts("last_seen_at").notNull(),
    openedAt: ts("opened_at").notNull().defaultNow(),
    reopenOf: bigint("reopen_of", { mode: "number" }),
    claimedBy: text("claimed_by"),
    claimedAt: ts("claimed_at"),
    /** The first claim of this episode; kept through unclaim and reassign (time-to-claim figures). */
    firstClaimedAt: ts("first_claimed_at"),
    retryCount: integer("retry_count").notNull().default(0),
    retryJobId: text("retry_job_id"),
    retryQueue: text("retry_queue"),
    retryRequestedBy: text("retry_requested_by"),
    lastRetryError: text("last_retry_error"),
    resolvedBy: text("resolved_by"),
    resolvedAt: ts("resolved_at"),
    resolution: text("resolution").$type<Resolution>(),
    resolutionNote: text("resolution_note"),
    rootCause: text("root_cause").$type<RootCause>(),
    channel: text("channel").notNull(),
    cardTs: text("card_ts"),
    /** The storm this exception is a member of: its card is the storm's, not its own. */
    stormId: bigint("storm_id", { mode: "number" }).references(() => storms.id),
    /** SLA bookkeeping: deadlines are derived from the policy; these record what happened. */
    nextDeadlineAt: ts("next_deadline_at"),
    breachedAt: ts("breached_at"),
    escalations: integer("escalations").notNull().default(0),
    slaFired: jsonb("sla_fired").$type<string[]>().notNull().default([]),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("exceptions_live_fingerprint").on(t.fingerprint).where(sql`state <> 'resolved'`),
    index("exceptions_fingerprint").on(t.fingerprint, t.openedAt),
    index("exceptions_role_state").on(t.role, t.state),
    index("exceptions_client_opened").on(t.client, t.openedAt),
    index("exceptions_claimed_by").on(t.claimedBy).where(sql`state <> 'resolved'`),
    index("exceptions_next_deadline").on(t.nextDeadlineAt).where(sql`state <> 'resolved'`),
    index("exceptions_card").on(t.channel, t.cardTs),
    // /inventory figures over a window of a million rows: an index-only scan of the window.
    // (Trailing key columns stand in for INCLUDE, which drizzle 0.45 cannot express.)
    index("exceptions_window").on(
      t.openedAt,
      t.role,
      t.client,
      t.state,
      t.firstClaimedAt,
      t.resolvedAt,
      t.breachedAt,
      t.resolution,
      t.targetSystem,
      t.sku,
      t.occurrences,
    ),
    index("exceptions_live_role").on(t.role, t.state, t.openedAt).where(sql`state <> 'resolved'`),
    index("exceptions_manual_no_cause")
      .on(t.resolvedAt)
      .where(sql`resolution = 'manual' and root_cause is null`),
    index("exceptions_storm").on(t.stormId).where(sql`storm_id is not null`),
    // The live latency-gate exceptions (src/gates/gates.repo.ts), read after every intake batch
    // that counts failed deliveries: a handful of rows, not a scan of every live exception.
    index("exceptions_live_gates")
      .on(t.failureMode, t.id)
      .where(sql`state <> 'resolved' and failure_mode in ('latency', 'stale', 'over_budget')`),
    // Mean time to remediate per pipeline (src/deliveries/figures.repo.ts): an index-only scan
    // of the exceptions resolved in a window.
    index("exceptions_resolved_window")
      .on(t.resolvedAt, t.client, t.sourceSystem, t.targetSystem, t.createdAt)
      .where(sql`state = 'resolved'`),
    index("exceptions_storm_key").on(t.client, t.targetSystem, t.failureMode, t.role, t.openedAt),
  ],
);

export type ExceptionRow = typeof exceptions.$inferSelect;

/** Every accepted failure event, keyed by the producer's eventId (the idempotency key). */
export const failureEvents = pgTable(
  "failure_events",
  {
    eventId: text("event_id").primaryKey(),
    exceptionId: bigint("exception_id", { mode: "number" })
      .notNull()
      .references(() => exceptions.id),
    occurredAt: ts("occurred_at").notNull(),
    receivedAt: ts("received_at").notNull().defaultNow(),
    payload: jsonb("payload").$type<FailureEvent>().notNull(),
  },
  (t) => [index("failure_events_exception").on(t.exceptionId)],
);

/** Events that failed the contract: kept whole, with what was wrong, never dropped. */
export const rejectedEvents = pgTable(
  "rejected_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** The BullMQ job that carried it: a redelivered job is one rejection, not two. */
    sourceJobId: text("source_job_id").notNull().unique(),
    eventId: text("event_id"),
    /** The job data as JSON text (NUL-safe, capped), whatever shape it had. */
    rawText: text("raw_text").notNull(),
    errors: jsonb("errors").$type<{ path: string; message: string }[]>().notNull(),
    receivedAt: ts("received_at").notNull().defaultNow(),
    channel: text("channel"),
    cardTs: text("card_ts"),
    reviewedBy: text("reviewed_by"),
    reviewedAt: ts("reviewed_at"),
    /** Its producer-and-problem group (rejections.schema.ts); its card stands for this row. */
    groupId: bigint("group_id", { mode: "number" }),
    /** The HTTP producer (producers.name) that sent it; null for events from a queue. */
    producer: text("producer"),
  },
  (t) => [
    index("rejected_events_received").on(t.receivedAt),
    index("rejected_events_group").on(t.groupId),
  ],
);

/** The hand-off record. Append-only: nothing changes in place without a row here. */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    exceptionId: bigint("exception_id", { mode: "number" }).references(() => exceptions.id),
    rejectedEventId: bigint("rejected_event_id", { mode: "number" }).references(
      () => rejectedEvents.id,
    ),
    /** Slack user ID for a person; `system` for the bot. */
    actor: text("actor").notNull(),
    /** Where it came from: slack, intake, retry-tracker, outcome, sla, routing, cli. */
    source: text("source").notNull(),
    action: text("action").notNull(),
    stateBefore: text("state_before"),
    stateAfter: text("state_after"),
    note: text("note"),
    expectedOutcome: text("expected_outcome"),
    details: jsonb("details"),
    at: ts("at").notNull().defaultNow(),
  },
  (t) => [
    index("audit_exception").on(t.exceptionId, t.at),
    index("audit_action_at").on(t.action, t.at),
  ],
);

export const ROUTING_STATUSES = ["proposed", "active", "rejected", "superseded"] as const;
export type RoutingStatus = (typeof ROUTING_STATUSES)[number];

/** Immutable, numbered routing configurations; exactly one is active. */
export const routingVersions = pgTable(
  "routing_versions",
  {
    version: integer("version").primaryKey(),
    text: text("text").notNull(),
    contentHash: text("content_hash").notNull(),
    status: text("status").$type<RoutingStatus>().notNull(),
    source: text("source").notNull(),
    author: text("author").notNull(),
    reason: text("reason").notNull(),
    rollbackOf: integer("rollback_of"),
    /** The active version this proposal was reviewed against; approval needs it still active. */
    baseVersion: integer("base_version"),
    /** What reviewers were shown (diff, 30-day preview, open exceptions to move, warnings). */
    review: jsonb("review"),
    breakGlass: boolean("break_glass").notNull().default(false),
    decidedBy: text("decided_by"),
    decidedAt: ts("decided_at"),
    decisionNote: text("decision_note"),
    activatedAt: ts("activated_at"),
    approvalChannel: text("approval_channel"),
    approvalTs: text("approval_ts"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("routing_single_active").on(t.status).where(sql`status = 'active'`)],
);

export const STORM_STATES = ["open", "ended"] as const;
export type StormState = (typeof STORM_STATES)[number];

/**
 * A burst of new fingerprints of one kind (client, target, failure mode, owning role): one card
 * for all its members, which stay exceptions of their own. At most one open storm per key.
 */
export const storms = pgTable(
  "storms",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** Hash of client, target system, failure mode and role (see src/storms/storm-key.ts). */
    key: text("key").notNull(),
    client: text("client").notNull(),
    targetSystem: text("target_system").notNull(),
    failureMode: text("failure_mode").notNull(),
    role: text("role").notNull(),
    channel: text("channel").notNull(),
    state: text("state").$type<StormState>().notNull().default("open"),
    formedAt: ts("formed_at").notNull(),
    /** When the newest member arrived: the quiet window that ends the storm runs from here. */
    lastMemberAt: ts("last_member_at").notNull(),
    endedAt: ts("ended_at"),
    claimedBy: text("claimed_by"),
    claimedAt: ts("claimed_at"),
    resolvedBy: text("resolved_by"),
    resolvedAt: ts("resolved_at"),
    resolutionNote: text("resolution_note"),
    rootCause: text("root_cause").$type<RootCause>(),
    cardTs: text("card_ts"),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("storms_open_key").on(t.key).where(sql`state = 'open'`),
    index("storms_role_state").on(t.role, t.state),
  ],
);

export const SLACK_OUTBOX_KINDS = ["card", "message", "storm_card", "rejection_card"] as const;
export type SlackOutboxKind = (typeof SLACK_OUTBOX_KINDS)[number];
/**
 * pending -> sending (the call may be in flight: intent recorded before it) -> sent | failed;
 * back to pending when Slack answered no; superseded when a newer card row took over.
 */
export const SLACK_OUTBOX_STATES = ["pending", "sending", "sent", "failed", "superseded"] as const;
export type SlackOutboxState = (typeof SLACK_OUTBOX_STATES)[number];

/**
 * Slack writes that must not be lost (card posts and refreshes, thread notes, DMs), written in
 * the transaction of the change they announce and relayed in id order per `lane` (one lane per
 * card or conversation) by src/platform/slack/outbox-relay.ts.
 */
export const slackOutbox = pgTable(
  "slack_outbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** Ordering group: rows of one lane go out one at a time, oldest first. */
    lane: text("lane").notNull(),
    kind: text("kind").$type<SlackOutboxKind>().notNull(),
    /** Carried in the message metadata so a retried relay finds its earlier post. */
    dedupeKey: text("dedupe_key").unique(),
    exceptionId: bigint("exception_id", { mode: "number" }).references(() => exceptions.id),
    /** Message target (channel or user id); null means the exception's card channel. */
    channel: text("channel"),
    /**
     * The channel (or DM user) whose Slack rate limit the row's call waits on, when known at
     * enqueue: the relay works one lane per pace key at a time, so a channel held back by its
     * limit never takes the slots other channels' rows need.
     */
    paceKey: text("pace_key"),
    /** The message is a reply in the exception card's thread. */
    inCardThread: boolean("in_card_thread").notNull().default(false),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
    /** W3C traceparent of the change that queued the row: its Slack call continues that trace. */
    traceContext: text("trace_context"),
    state: text("state").$type<SlackOutboxState>().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    notBefore: ts("not_before").notNull().defaultNow(),
    /** When the current attempt began (state sending); a row found sending is reconciled first. */
    attemptStartedAt: ts("attempt_started_at"),
    lastError: text("last_error"),
    resultChannel: text("result_channel"),
    resultTs: text("result_ts"),
    createdAt: ts("created_at").notNull().defaultNow(),
    sentAt: ts("sent_at"),
  },
  (t) => [
    index("slack_outbox_open").on(t.lane, t.id).where(sql`state in ('pending', 'sending')`),
    uniqueIndex("slack_outbox_pending_card")
      .on(t.exceptionId)
      .where(sql`kind = 'card' and state = 'pending'`),
    index("slack_outbox_sent_at").on(t.sentAt).where(sql`state = 'sent'`),
  ],
);

/** One row per weekly-digest message: a redelivered digest job skips what already went out. */
export const digestDeliveries = pgTable(
  "digest_deliveries",
  {
    /** The scheduled run (ISO time of the cron tick). */
    digestKey: text("digest_key").notNull(),
    /** A role's channel or a manager's user id. */
    target: text("target").notNull(),
    role: text("role").notNull(),
    ts: text("ts"),
    sentAt: ts("sent_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.digestKey, t.target, t.role] })],
);

/**
 * Who has opened the App Home tab. Home tabs are republished on changes only for these people:
 * publishing to someone who never looks is a wasted Tier 4 call. In Postgres rather than Redis
 * so a Redis that comes back empty does not silently stop everyone's live Home tab.
 */
export const homeViewers = pgTable("home_viewers", {
  userId: text("user_id").primaryKey(),
  firstOpenedAt: ts("first_opened_at").notNull().defaultNow(),
  lastOpenedAt: ts("last_opened_at").notNull().defaultNow(),
});

/**
 * The window figures of every client and role over the long windows (7 and 30 days), as the
 * worker last computed them (`status.figures`, every STATUS_FIGURES_EVERY_MS): a 30-day window
 * sums some 80,000 exceptions of a million, which `/inventory status` would otherwise redo at
 * every answer. One row per window and time zone (days are counted in it).
 */
export const windowFigureSnapshots = pgTable(
  "window_figure_snapshots",
  {
    windowMs: bigint("window_ms", { mode: "number" }).notNull(),
    timeZone: text("time_zone").notNull(),
    /** The figures cover (computedAt − windowMs, computedAt]. */
    computedAt: ts("computed_at").notNull(),
    /** A WindowFigures (src/inventory/figures.ts). */
    figures: jsonb("figures").notNull(),
  },
  (t) => [primaryKey({ columns: [t.windowMs, t.timeZone] })],
);

// ---- deliveries (src/deliveries): deliveries.schema.ts, re-exported so drizzle-kit sees them ----
export * from "./deliveries.schema.js";
// ---- producers (src/producers): producers.schema.ts, re-exported so drizzle-kit sees them ----
export * from "./producers.schema.js";
// ---- reconciliation (src/recon): recon.schema.ts, re-exported so drizzle-kit sees them ----
export * from "./recon.schema.js";
export * from "./rejections.schema.js";
