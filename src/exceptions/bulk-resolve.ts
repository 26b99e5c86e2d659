/**
 * Resolve many exceptions with one note, as a storm's Resolve all does: the same checks and
 * state machine as a click on each card (`changeException`), but one transaction, one UPDATE
 * and one multi-row audit insert per batch instead of a transaction, a card sync, a storm
 * redraw and an SLA re-arm per exception. Each exception still gets its own row change, its
 * own audit row and its own outcome; a batch commits whole or not at all, so a rerun (a job
 * is at-least-once) finds the committed ones resolved and refuses them as stale.
 */
import { asc, inArray } from "drizzle-orm";
import { type AuditEntry, recordAudits } from "../audit/audit.js";
import { exceptions, type RootCause } from "../platform/db/schema.js";
import type { Deps } from "../platform/deps.js";
import { metrics } from "../platform/metrics.js";
import { disarmResolved } from "../sla/sla-timers.js";
import { type Standing, standingIn } from "./authorization.js";
import type { ExceptionRow } from "./card.js";
import { cardChanged, queueCardChanges } from "./cards.js";
import {
  type Actor,
  type ActResult,
  auditDetails,
  holding,
  humanNote,
  redrawHomes,
} from "./exceptions.service.js";
import { transition } from "./state-machine.js";

export interface BulkResolveInput {
  exceptionIds: readonly number[];
  actor: Actor;
  note: string;
  rootCause: RootCause;
  /** The channel the exceptions must be in (a storm's channel): others are not found. */
  expectedChannel?: string;
}

export type RefusalCode = Extract<ActResult, { ok: false }>["code"];

export interface BulkResolveResult {
  resolved: ExceptionRow[];
  refused: { exceptionId: number; code: RefusalCode }[];
}

/** Resolves what may be resolved among `exceptionIds` (a few hundred at a time). */
export async function resolveExceptions(
  deps: Deps,
  input: BulkResolveInput,
): Promise<BulkResolveResult> {
  const { actor } = input;
  const action = { kind: "resolve" as const, note: input.note, rootCause: input.rootCause };
  const refused: BulkResolveResult["refused"] = [];
  if (input.exceptionIds.length === 0) return { resolved: [], refused };

  // Who may act is read before the transaction (a user group may ask Slack), as for a click.
  const found = await deps.db
    .select({ id: exceptions.id, role: exceptions.role, channel: exceptions.channel })
    .from(exceptions)
    .where(inArray(exceptions.id, [...input.exceptionIds]));
  const foundIds = new Set(found.map((row) => row.id));
  for (const id of input.exceptionIds) {
    if (!foundIds.has(id)) refused.push({ exceptionId: id, code: "not_found" });
  }
  const standings = new Map<string, Standing>();
  for (const role of new Set(found.map((row) => row.role))) {
    standings.set(role, (await standingIn(deps, role, actor.userId)).standing);
  }
  const allowed: number[] = [];
  for (const row of found) {
    if (input.expectedChannel && row.channel !== input.expectedChannel) {
      refused.push({ exceptionId: row.id, code: "not_found" });
    } else if (standings.get(row.role) === "outsider") {
      refused.push({ exceptionId: row.id, code: "forbidden" });
    } else allowed.push(row.id);
  }
  if (allowed.length === 0) return { resolved: [], refused };

  const now = deps.clock.now();
  const resolved = await deps.db.transaction(async (tx) => {
    // Locked in id order, as every batch does, so two batches never wait on each other in a ring.
    const locked = await tx
      .select()
      .from(exceptions)
      .where(inArray(exceptions.id, allowed))
      .orderBy(asc(exceptions.id))
      .for("no key update");
    const lockedIds = new Set(locked.map((row) => row.id));
    for (const id of allowed) {
      if (!lockedIds.has(id)) refused.push({ exceptionId: id, code: "not_found" });
    }
    const before = new Map<number, ExceptionRow>();
    for (const row of locked) {
      const outcome = transition(holding(row), {
        ...action,
        actor: actor.userId,
        isManager: standings.get(row.role) === "manager",
      });
      if (outcome.ok) before.set(row.id, row);
      else refused.push({ exceptionId: row.id, code: "stale" });
    }
    if (before.size === 0) return [] as ExceptionRow[];
    // Resolving keeps the holder and the retry count; a resolved exception has no deadline
    // ahead, which is what re-arming its SLA would store (its timers are removed after).
    const resolved = await tx
      .update(exceptions)
      .set({
        state: "resolved",
        resolution: "manual",
        resolvedBy: actor.userId,
        resolvedAt: now,
        resolutionNote: action.note,
        rootCause: action.rootCause,
        nextDeadlineAt: null,
        updatedAt: now,
      })
      .where(inArray(exceptions.id, [...before.keys()]))
      .returning();
    resolved.sort((a, b) => a.id - b.id);
    await recordAudits(
      tx,
      resolved.map((row): AuditEntry => {
        const was = before.get(row.id) as ExceptionRow;
        return {
          exceptionId: row.id,
          actor: actor.userId,
          source: "slack",
          action: "resolve",
          stateBefore: was.state,
          stateAfter: row.state,
          note: action.note,
          expectedOutcome: null,
          details: auditDetails(action, was),
          at: now,
        };
      }),
    );
    // Cards and their threads hear of it through the outbox, committed with the change.
    await queueCardChanges(
      tx,
      resolved.map((row) => ({ row, note: humanNote(actor, action, row) })),
    );
    // Storm members redraw their storm's card: once per storm, not once per member.
    for (const stormId of new Set(resolved.map((row) => row.stormId))) {
      await cardChanged(deps, { stormId }, tx);
    }
    return resolved;
  });

  if (resolved.length > 0) {
    metrics.actions.inc({ kind: "resolve", actor: "human" }, resolved.length);
    for (const role of new Set(resolved.map((row) => row.role))) await redrawHomes(deps, { role });
    await disarmResolved(deps, resolved);
  }
  return { resolved, refused };
}
