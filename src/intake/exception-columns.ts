/**
 * The columns intake writes on an exception, shared by the one-event path (intake.service.ts)
 * and the batch path (intake-batch-write.ts) so both open, repeat and audit alike.
 */
import { type SQL, sql } from "drizzle-orm";
import { exceptions } from "../platform/db/schema.js";
import type { FailureEvent } from "./failure-event.schema.js";

/** Where routing sent an event: its role (a name and a channel), rule and severity. */
export interface Routed {
  severity: string;
  role: { name: string; channel: string };
  rule: { index: number };
}

/** The columns a new exception takes from its first event and from where routing sent it. */
export function openingColumns(
  key: string,
  event: FailureEvent,
  decision: Routed,
  routingVersion: number | null,
  now: Date,
) {
  return {
    openedAt: now,
    createdAt: now,
    updatedAt: now,
    fingerprint: key,
    client: event.client,
    vertical: event.vertical ?? null,
    sku: event.sku,
    sourceSystem: event.sourceSystem,
    targetSystem: event.targetSystem,
    operation: event.operation,
    failureMode: event.failureMode,
    severity: decision.severity,
    role: decision.role.name,
    ruleIndex: decision.rule.index,
    routingVersion,
    channel: decision.role.channel,
    firstEvent: event,
  };
}

/** The one live (unresolved) exception of a fingerprint: where a repeat lands. */
export const LIVE_FINGERPRINT = {
  target: exceptions.fingerprint,
  targetWhere: sql`state <> 'resolved'`,
};

/** A repeat of a live exception: `occurrences` more, the latest event by time shown. */
export function repeatColumns(occurrences: SQL, now: Date) {
  return {
    occurrences,
    latestEvent: sql`case when excluded.last_seen_at >= ${exceptions.lastSeenAt} then excluded.latest_event else ${exceptions.latestEvent} end`,
    traceContext: sql`case when excluded.last_seen_at >= ${exceptions.lastSeenAt} then coalesce(excluded.trace_context, ${exceptions.traceContext}) else ${exceptions.traceContext} end`,
    lastSeenAt: sql`greatest(${exceptions.lastSeenAt}, excluded.last_seen_at)`,
    firstSeenAt: sql`least(${exceptions.firstSeenAt}, excluded.first_seen_at)`,
    updatedAt: now,
  };
}

/** What the audit row of an opening says about where the event went. */
export function openedDetails(
  eventId: string,
  decision: Routed,
  routingVersion: number | null,
  reopenOf: number | null | undefined,
) {
  return {
    eventId,
    role: decision.role.name,
    rule: decision.rule.index,
    severity: decision.severity,
    routingVersion,
    ...(reopenOf ? { reopenOf } : {}),
  };
}
