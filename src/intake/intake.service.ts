/**
 * Intake: a dead-lettered failure becomes an exception occurrence or a rejected-event row,
 * never nothing. Runs at least once per job, so every step tolerates having run before.
 */
import { createHash } from "node:crypto";
import { and, desc, eq, ne, sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.js";
import { type ChangeUnit, inChangeTransaction } from "../exceptions/change.js";
import { exceptions, failureEvents, rejectedEvents } from "../platform/db/schema.js";
import { activeTraceparent } from "../platform/tracing.js";
import { retryTargetProblem } from "../retries/retry-target.js";
import { evaluate } from "../routing/evaluate.js";
import { groupIntoStorm } from "../storms/storm-intake.js";
import {
  LIVE_FINGERPRINT,
  openedDetails,
  openingColumns,
  repeatColumns,
} from "./exception-columns.js";
import { type FailureEvent, failureEventSchema } from "./failure-event.schema.js";
import { fingerprint } from "./fingerprint.js";
import {
  claimedSourceSystem,
  noteRejection,
  problemKey,
  problemLines,
  rejectionTargetOf,
} from "./rejection-groups.js";
import { check, claimedEventId, type Problem, rawText } from "./validation.js";

export type IntakeResult =
  | {
      kind: "opened" | "reopened" | "occurrence" | "duplicate";
      exceptionId: number;
      /** Set when a new exception joined or formed a storm: the storm card stands for it. */
      stormId?: number;
    }
  | { kind: "rejected"; rejectedId: number; problems: Problem[] };

/** Thrown inside the transaction to undo it when another delivery recorded the event first. */
class DuplicateEvent extends Error {}

export async function ingestFailure(
  deps: Pick<
    Deps,
    "db" | "routing" | "clock" | "storms" | "logger" | "exceptionEffects" | "queues"
  >,
  job: { id: string; data: unknown },
  options: {
    /** The role that owns it whatever the routes say (a latency gate's pipeline role). */
    role?: string;
    /** The producer it came from, when the way in knows it (the HTTP intake's token owner). */
    producer?: string;
  } = {},
): Promise<IntakeResult> {
  const checked = check(failureEventSchema, job.data);
  if (!checked.ok) return recordRejection(deps, job, checked.problems, options.producer ?? null);
  const event = checked.value;
  const refused = retryTargetProblem(event.retry, deps.routing.current().config, deps.queues.own);
  if (refused) return recordRejection(deps, job, [refused], options.producer ?? null);

  const known = await findEvent(deps, event.eventId);
  if (known) return { kind: "duplicate", exceptionId: known.exceptionId };
  try {
    // Through the exception seam: the row, its audit entry, its card and its storm card
    // commit together; SLA timers and Home tabs follow after the commit.
    return await inChangeTransaction(deps, (unit) =>
      openOrAddOccurrence(unit, deps, event, options.role),
    );
  } catch (error) {
    if (!(error instanceof DuplicateEvent)) throw error;
    const winner = await findEvent(deps, event.eventId);
    return { kind: "duplicate", exceptionId: winner?.exceptionId ?? 0 };
  }
}

async function findEvent(deps: Pick<Deps, "db">, eventId: string) {
  const [row] = await deps.db
    .select({ exceptionId: failureEvents.exceptionId })
    .from(failureEvents)
    .where(eq(failureEvents.eventId, eventId));
  return row;
}

async function openOrAddOccurrence(
  unit: ChangeUnit,
  deps: Pick<Deps, "routing" | "clock" | "storms">,
  event: FailureEvent,
  ownerRole: string | undefined,
): Promise<IntakeResult> {
  const db = unit.tx;
  const routing = deps.routing.current();
  const routed = evaluate(routing.config, event);
  // The rule still gives severity and SLA; a declared owner (a pipeline's role) takes the card.
  const owner = ownerRole === undefined ? undefined : routing.config.roles[ownerRole];
  const decision = owner ? { ...routed, role: owner } : routed;
  const key = fingerprint(event);
  const seenAt = new Date(event.occurredAt);
  const now = deps.clock.now();
  // The intake span's trace: a later click or retry result on the exception continues it.
  const trace = activeTraceparent();

  const live = and(eq(exceptions.fingerprint, key), ne(exceptions.state, "resolved"));
  // A repeat (most events in a storm) is an update: it takes no number from the id sequence,
  // so exception numbers people see have no gaps from repeats and duplicates.
  const [repeat] = await db
    .update(exceptions)
    .set({
      occurrences: sql`${exceptions.occurrences} + 1`,
      latestEvent: sql`case when ${seenAt.toISOString()}::timestamptz >= ${exceptions.lastSeenAt} then ${JSON.stringify(event)}::jsonb else ${exceptions.latestEvent} end`,
      traceContext: sql`case when ${seenAt.toISOString()}::timestamptz >= ${exceptions.lastSeenAt} then coalesce(${trace}::text, ${exceptions.traceContext}) else ${exceptions.traceContext} end`,
      lastSeenAt: sql`greatest(${exceptions.lastSeenAt}, ${seenAt.toISOString()}::timestamptz)`,
      firstSeenAt: sql`least(${exceptions.firstSeenAt}, ${seenAt.toISOString()}::timestamptz)`,
      updatedAt: now,
    })
    .where(live)
    .returning({ id: exceptions.id, state: exceptions.state, stormId: exceptions.stormId });
  // A new fingerprint. Two deliveries racing on it cannot open two exceptions: the partial
  // unique index makes the second insert an update (which, only then, skips a number).
  const [row] = repeat
    ? [{ ...repeat, inserted: false }]
    : await db
        .insert(exceptions)
        .values({
          ...openingColumns(key, event, decision, routing.version, now),
          latestEvent: event,
          traceContext: trace,
          firstSeenAt: seenAt,
          lastSeenAt: seenAt,
        })
        .onConflictDoUpdate({
          ...LIVE_FINGERPRINT,
          set: repeatColumns(sql`${exceptions.occurrences} + 1`, now),
        })
        .returning({
          id: exceptions.id,
          state: exceptions.state,
          stormId: exceptions.stormId,
          inserted: sql<boolean>`(xmax = 0)`,
        });
  if (!row) throw new Error("upsert returned no row");

  const stored = await db
    .insert(failureEvents)
    .values({
      eventId: event.eventId,
      exceptionId: row.id,
      occurredAt: seenAt,
      payload: event,
      receivedAt: now,
    })
    .onConflictDoNothing()
    .returning({ eventId: failureEvents.eventId });
  if (stored.length === 0) throw new DuplicateEvent();

  const base = { actor: SYSTEM_ACTOR, source: "intake", at: now };
  if (!row.inserted) {
    // The card shows the new count; a storm member's storm card counts it.
    await unit.record(row.id, {
      audit: {
        ...base,
        action: "occurrence_added",
        stateBefore: row.state,
        details: { eventId: event.eventId, error: event.error.message.slice(0, 500) },
      },
    });
    return { kind: "occurrence", exceptionId: row.id };
  }

  const [previous] = await db
    .select({ id: exceptions.id })
    .from(exceptions)
    .where(and(eq(exceptions.fingerprint, key), eq(exceptions.state, "resolved")))
    .orderBy(desc(exceptions.openedAt))
    .limit(1);
  if (previous) {
    await db.update(exceptions).set({ reopenOf: previous.id }).where(eq(exceptions.id, row.id));
  }
  const opened = {
    ...base,
    action: previous ? "reopened" : "opened",
    stateBefore: previous ? "resolved" : null,
    // The episode opens; joining a claimed storm (its own audit rows) may claim it at once.
    stateAfter: "open",
    details: openedDetails(event.eventId, decision, routing.version, previous?.id),
  };
  const storm = await groupIntoStorm(unit, deps, {
    exceptionId: row.id,
    client: event.client,
    targetSystem: event.targetSystem,
    failureMode: event.failureMode,
    role: decision.role.name,
    channel: decision.role.channel,
  });
  // The card is posted (a storm member has its storm's instead: posted, if the storm just
  // formed, or counting the new member), and the SLA clock starts, card or no card.
  await unit.record(row.id, { audit: opened }, { opened: true });
  return {
    kind: previous ? "reopened" : "opened",
    exceptionId: row.id,
    ...(storm ? { stormId: storm.stormId } : {}),
  };
}

export async function recordRejection(
  deps: Pick<Deps, "db" | "routing" | "clock">,
  job: { id: string; data: unknown },
  problems: Problem[],
  /** The HTTP producer that sent it (src/producers); none for a queue's job. */
  producer: string | null = null,
): Promise<Extract<IntakeResult, { kind: "rejected" }>> {
  const { config } = deps.routing.current();
  const target = rejectionTargetOf(config);
  const who = { ...(producer ? { producer } : {}), sourceSystem: claimedSourceSystem(job.data) };
  const { channel } = target(who);
  const now = deps.clock.now();
  const raw = rawText(job.data);
  return deps.db.transaction(async (tx) => {
    const insert = (sourceJobId: string) =>
      tx
        .insert(rejectedEvents)
        .values({
          sourceJobId,
          eventId: claimedEventId(job.data),
          rawText: raw,
          errors: problems,
          channel,
          receivedAt: now,
          producer,
        })
        .onConflictDoNothing()
        .returning();
    const existing = async (sourceJobId: string) =>
      (
        await tx
          .select({ id: rejectedEvents.id, rawText: rejectedEvents.rawText })
          .from(rejectedEvents)
          .where(eq(rejectedEvents.sourceJobId, sourceJobId))
      )[0];
    let [inserted] = await insert(job.id);
    if (!inserted) {
      const earlier = await existing(job.id);
      if (earlier?.rawText === raw)
        return { kind: "rejected" as const, rejectedId: earlier.id, problems };
      // Same job id, other data: BullMQ's id counter restarted (Redis flushed, queue
      // obliterated). This is a new event, not a redelivery; keep it under an id that names
      // its content, so its own redeliveries still land on one row.
      const alias = `${job.id}~${createHash("sha256").update(raw).digest("hex").slice(0, 16)}`;
      [inserted] = await insert(alias);
      if (!inserted) {
        const again = await existing(alias);
        return { kind: "rejected" as const, rejectedId: again?.id ?? 0, problems };
      }
    }
    await recordAudit(tx, {
      rejectedEventId: inserted.id,
      actor: SYSTEM_ACTOR,
      source: "intake",
      action: "event_rejected",
      details: {
        eventId: claimedEventId(job.data),
        problems: problems.slice(0, 50),
        ...(producer ? { producer } : {}),
      },
      at: now,
    });
    // One card per producer and problem, in the producer's role's channel: counted there.
    const groupId = await noteRejection(tx, target, {
      kind: "failure",
      who,
      problem: problemKey(problems),
      details: problemLines(problems),
      sample: raw,
      count: 1,
      rejectedId: inserted.id,
      at: now,
    });
    await tx.update(rejectedEvents).set({ groupId }).where(eq(rejectedEvents.id, inserted.id));
    return { kind: "rejected" as const, rejectedId: inserted.id, problems };
  });
}
