/**
 * What a click on a storm card does. Each service checks who may act (the storm's role, as for
 * its members' cards), records the storm-wide step with its audit row, and queues the member
 * work; every member's own claim, retry and resolve then goes through the exception service,
 * so members keep their own state rules and hand-off records. Refusals are facts
 * (`StormRefusal`); storms.messages.ts says them.
 */
import type { Deps } from "../app/deps.js";
import { type Standing, standingIn } from "../exceptions/authorization.js";
import type { Actor } from "../exceptions/exceptions.service.js";
import type { RootCause } from "../platform/db/schema.js";
import type { StormRow } from "./storm-card.js";
import { queueStormCard, queueStormNote } from "./storm-cards.js";
import { enqueueStormJob } from "./storm-jobs.schema.js";
import { type Skipped, type StormRefusal, stormClaimedNote } from "./storms.messages.js";
import {
  findStorm,
  lockStorm,
  recordStormAudit,
  retryCounts,
  unresolvedMembers,
  updateStormRow,
} from "./storms.repo.js";

export interface StormActInput {
  stormId: number;
  actor: Actor;
  /** The channel the click came from: a button value is untrusted. */
  expectedChannel?: string;
}

export type StormActResult = { ok: true; storm: StormRow } | { ok: false; refusal: StormRefusal };

type Authorized = { ok: true; storm: StormRow; standing: Standing };

/** The storm exists where it was clicked, and the actor is a member or manager of its role. */
export async function authorizeStorm(
  deps: Deps,
  input: StormActInput,
): Promise<Authorized | Extract<StormActResult, { ok: false }>> {
  const { stormId } = input;
  const storm = await findStorm(deps.db, stormId);
  if (!storm || (input.expectedChannel && storm.channel !== input.expectedChannel)) {
    return { ok: false, refusal: { reason: "not_found", stormId, here: true } };
  }
  const { standing } = await standingIn(deps, storm.role, input.actor.userId);
  if (standing === "outsider") {
    return { ok: false, refusal: { reason: "outsider", stormId, role: storm.role } };
  }
  return { ok: true, storm, standing };
}

/** Claim storm: the storm and its open members (and members yet to come) go to the actor. */
export async function claimStorm(deps: Deps, input: StormActInput): Promise<StormActResult> {
  const auth = await authorizeStorm(deps, input);
  if (!auth.ok) return auth;
  const { stormId } = input;
  const { userId } = input.actor;
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx): Promise<StormActResult> => {
    const storm = await lockStorm(tx, stormId);
    if (!storm) return { ok: false, refusal: { reason: "not_found", stormId, here: false } };
    if (storm.claimedBy) {
      const { claimedBy: by } = storm;
      return {
        ok: false,
        refusal: { reason: "already_claimed", stormId, by, byActor: by === userId },
      };
    }
    const updated = await updateStormRow(tx, storm.id, {
      claimedBy: userId,
      claimedAt: now,
      updatedAt: now,
    });
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
      stormClaimedNote(input.actor.name),
      `storm-${storm.id}-claimed-${now.getTime()}`,
    );
    // Queued inside the transaction: if Redis refuses, the claim does not happen either.
    await enqueueStormJob(deps.queues, "storms.claim-members", {
      stormId: storm.id,
      actor: input.actor,
      asOf: now.getTime(),
    });
    await queueStormCard(tx, storm.id);
    return { ok: true, storm: updated };
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
  const counts = await retryCounts(deps.db, storm.id, input.actor.userId, standing === "manager");
  const skipped: Skipped = new Map();
  if (counts.noRetry) skipped.set("retry_unavailable", counts.noRetry);
  if (counts.retrying) skipped.set("retry_in_progress", counts.retrying);
  if (counts.held) skipped.set("held_by_other", counts.held);
  if (counts.eligible === 0) {
    return { ok: false, refusal: { reason: "nothing_to_retry", stormId: storm.id, skipped } };
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

export interface ResolveStormInput extends StormActInput {
  note: string;
  rootCause: RootCause;
}

/** Resolve all: one note and root cause for every unresolved member that arrived by now. */
export async function resolveStorm(deps: Deps, input: ResolveStormInput): Promise<StormActResult> {
  const auth = await authorizeStorm(deps, input);
  if (!auth.ok) return auth;
  const { stormId } = input;
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx): Promise<StormActResult> => {
    const storm = await lockStorm(tx, stormId);
    if (!storm) return { ok: false, refusal: { reason: "not_found", stormId, here: false } };
    const open = await unresolvedMembers(tx, storm.id);
    if (!open) return { ok: false, refusal: { reason: "all_resolved", stormId } };
    const updated = await updateStormRow(tx, storm.id, {
      resolvedBy: input.actor.userId,
      resolvedAt: now,
      resolutionNote: input.note,
      rootCause: input.rootCause,
      updatedAt: now,
    });
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
    return { ok: true, storm: updated };
  });
  return result;
}
