/**
 * What a click on a storm card does. Each service checks who may act (the storm's role, as for
 * its members' cards), records the storm-wide step with its audit row, and queues the member
 * work; every member's own claim, retry and resolve then goes through the exception service,
 * so members keep their own state rules and hand-off records.
 */
import { and, eq, ne, sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { type Standing, standingIn } from "../exceptions/authorization.js";
import { ROOT_CAUSE_LABELS } from "../exceptions/card.js";
import { outsiderMessage } from "../exceptions/exceptions.messages.js";
import type { Actor } from "../exceptions/exceptions.service.js";
import type { Refusal } from "../exceptions/state-machine.js";
import { exceptions, type RootCause, storms } from "../platform/db/schema.js";
import { escapeMrkdwn, mention } from "../platform/slack/mrkdwn.js";
import type { StormRow } from "./storm-card.js";
import { queueStormCard, queueStormNote } from "./storm-cards.js";
import { enqueueStormJob } from "./storm-jobs.schema.js";
import { stormLabel } from "./storm-key.js";
import { findStorm, lockStorm, recordStormAudit, unresolvedMembers } from "./storms.repo.js";

export interface StormActInput {
  stormId: number;
  actor: Actor;
  /** The channel the click came from: a button value is untrusted. */
  expectedChannel?: string;
}

export type StormActResult =
  | { ok: true; storm: StormRow }
  | { ok: false; code: "not_found" | "forbidden" | "stale"; message: string };

type Authorized = { ok: true; storm: StormRow; standing: Standing };

/** The storm exists where it was clicked, and the actor is a member or manager of its role. */
export async function authorizeStorm(
  deps: Deps,
  input: StormActInput,
): Promise<Authorized | Extract<StormActResult, { ok: false }>> {
  const label = stormLabel(input.stormId);
  const storm = await findStorm(deps.db, input.stormId);
  if (!storm || (input.expectedChannel && storm.channel !== input.expectedChannel)) {
    return { ok: false, code: "not_found", message: `I can't find storm ${label} here.` };
  }
  const { standing } = await standingIn(deps, storm.role, input.actor.userId);
  if (standing === "outsider") {
    return {
      ok: false,
      code: "forbidden",
      message: outsiderMessage(storm.role, `act on storm ${label}`),
    };
  }
  return { ok: true, storm, standing };
}

/** Claim storm: the storm and its open members (and members yet to come) go to the actor. */
export async function claimStorm(deps: Deps, input: StormActInput): Promise<StormActResult> {
  const auth = await authorizeStorm(deps, input);
  if (!auth.ok) return auth;
  const label = stormLabel(input.stormId);
  const { userId } = input.actor;
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx): Promise<StormActResult> => {
    const storm = await lockStorm(tx, input.stormId);
    if (!storm) return { ok: false, code: "not_found", message: `I can't find storm ${label}.` };
    if (storm.claimedBy) {
      const who = storm.claimedBy === userId ? "you" : mention(storm.claimedBy);
      return {
        ok: false,
        code: "stale",
        message: `Storm ${label} is already claimed by ${who}. Nothing was changed.`,
      };
    }
    const [updated] = await tx
      .update(storms)
      .set({ claimedBy: userId, claimedAt: now, updatedAt: now })
      .where(eq(storms.id, storm.id))
      .returning();
    await recordStormAudit(tx, storm.id, {
      actor: userId,
      source: "slack",
      action: "storm_claim",
      expectedOutcome: "every open member of the storm is claimed for the same person",
      at: now,
    });
    await queueStormNote(
      tx,
      storm,
      `:raising_hand: *${escapeMrkdwn(input.actor.name)}* claimed this storm: its open members, and new ones, go to them.`,
      `storm-${storm.id}-claimed-${now.getTime()}`,
    );
    // Queued inside the transaction: if Redis refuses, the claim does not happen either.
    await enqueueStormJob(deps.queues, "storms.claim-members", {
      stormId: storm.id,
      actor: input.actor,
      asOf: now.getTime(),
    });
    await queueStormCard(tx, storm.id);
    return { ok: true, storm: updated as StormRow };
  });
  return result;
}

/**
 * Retry all: every member that may be retried now gets its retry, one every interval. The
 * click only counts (in SQL) and queues one job; the job lists the members and queues their
 * paced retries, so a storm of thousands costs the click handler nothing.
 */
export async function retryAllInStorm(deps: Deps, input: StormActInput): Promise<StormActResult> {
  const auth = await authorizeStorm(deps, input);
  if (!auth.ok) return auth;
  const { storm, standing } = auth;
  const counts = await retryCounts(deps, storm.id, input.actor.userId, standing === "manager");
  const skipped = new Map<Refusal["reason"], number>();
  if (counts.noRetry) skipped.set("retry_unavailable", counts.noRetry);
  if (counts.retrying) skipped.set("retry_in_progress", counts.retrying);
  if (counts.held) skipped.set("held_by_other", counts.held);
  if (counts.eligible === 0) {
    return {
      ok: false,
      code: "stale",
      message: `Nothing to retry in storm ${stormLabel(storm.id)}${skipText(skipped) ? `: ${skipText(skipped)}` : ""}. Nothing was changed.`,
    };
  }
  const interval = deps.storms?.settings.retryIntervalMs ?? 200;
  const now = deps.clock.now();
  await deps.db.transaction(async (tx) => {
    await recordStormAudit(tx, storm.id, {
      actor: input.actor.userId,
      source: "slack",
      action: "storm_retry_all",
      expectedOutcome: `about ${counts.eligible} member retries queued, one every ${interval} ms`,
      details: { eligible: counts.eligible, skipped: Object.fromEntries(skipped) },
      at: now,
    });
    // Inside the audit row's transaction: the row never claims work Redis refused. A double
    // click within a few seconds is the same job; later ones find the members retrying.
    const slot = Math.floor(now.getTime() / 5000);
    await enqueueStormJob(
      deps.queues,
      "storms.retry-all",
      { stormId: storm.id, actor: input.actor, asOf: now.getTime() },
      { jobId: `storm-${storm.id}-retryall-${input.actor.userId}-${slot}` },
    );
  });
  return { ok: true, storm };
}

/** What Retry all would do for this actor, in the state machine's order of refusals. */
async function retryCounts(deps: Deps, stormId: number, actor: string, isManager: boolean) {
  const canRetry = sql`${exceptions.latestEvent}->'retry' is not null`;
  const heldByOther = isManager
    ? sql`false`
    : sql`(${exceptions.claimedBy} is not null and ${exceptions.claimedBy} <> ${actor})`;
  const [row] = await deps.db
    .select({
      noRetry: sql<number>`(count(*) filter (where not ${canRetry}))::int`,
      retrying: sql<number>`(count(*) filter (where ${canRetry} and ${exceptions.state} = 'retrying'))::int`,
      held: sql<number>`(count(*) filter (where ${canRetry} and ${exceptions.state} <> 'retrying' and ${heldByOther}))::int`,
      eligible: sql<number>`(count(*) filter (where ${canRetry} and ${exceptions.state} <> 'retrying' and not ${heldByOther}))::int`,
    })
    .from(exceptions)
    .where(and(eq(exceptions.stormId, stormId), ne(exceptions.state, "resolved")));
  return row ?? { noRetry: 0, retrying: 0, held: 0, eligible: 0 };
}

export interface ResolveStormInput extends StormActInput {
  note: string;
  rootCause: RootCause;
}

/** Resolve all: one note and root cause for every unresolved member that arrived by now. */
export async function resolveStorm(deps: Deps, input: ResolveStormInput): Promise<StormActResult> {
  const auth = await authorizeStorm(deps, input);
  if (!auth.ok) return auth;
  const label = stormLabel(input.stormId);
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx): Promise<StormActResult> => {
    const storm = await lockStorm(tx, input.stormId);
    if (!storm) return { ok: false, code: "not_found", message: `I can't find storm ${label}.` };
    const open = await unresolvedMembers(tx, storm.id);
    if (!open) {
      return {
        ok: false,
        code: "stale",
        message: `Every member of storm ${label} is already resolved. Nothing was changed.`,
      };
    }
    const [updated] = await tx
      .update(storms)
      .set({
        resolvedBy: input.actor.userId,
        resolvedAt: now,
        resolutionNote: input.note,
        rootCause: input.rootCause,
        updatedAt: now,
      })
      .where(eq(storms.id, storm.id))
      .returning();
    await recordStormAudit(tx, storm.id, {
      actor: input.actor.userId,
      source: "slack",
      action: "storm_resolve_all",
      note: input.note,
      expectedOutcome: `the ${open} unresolved members are resolved with this note`,
      details: { rootCause: input.rootCause, members: open },
      at: now,
    });
    await enqueueStormJob(deps.queues, "storms.resolve-members", {
      stormId: storm.id,
      actor: input.actor,
      asOf: now.getTime(),
      note: input.note,
      rootCause: input.rootCause,
    });
    await queueStormCard(tx, storm.id);
    return { ok: true, storm: updated as StormRow };
  });
  return result;
}

const SKIP_WORDS: Record<Refusal["reason"], string> = {
  already_claimed: "already claimed",
  already_resolved: "already resolved",
  not_claimed: "not claimed",
  held_by_other: "held by someone else",
  retry_unavailable: "without a retry job",
  retry_in_progress: "already retrying",
  not_retrying: "not retrying",
};

export function skipText(skipped: Map<Refusal["reason"], number>): string {
  return [...skipped].map(([reason, n]) => `${n} ${SKIP_WORDS[reason]}`).join(", ");
}

export function rootCauseLabel(rootCause: RootCause): string {
  return ROOT_CAUSE_LABELS[rootCause];
}
