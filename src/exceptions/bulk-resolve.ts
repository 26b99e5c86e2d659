/**
 * Resolve many exceptions with one note, as a storm's Resolve all does: the same checks and
 * state machine as a click on each card (`humanChange`), through the change seam's batch form:
 * one transaction, one UPDATE and one multi-row audit insert per batch instead of a
 * transaction, a card sync and a storm redraw per exception. Each exception still gets its own
 * row change, its own audit row and its own outcome; a batch commits whole or not at all, so
 * a rerun (a job is at-least-once) finds the committed ones resolved and refuses them as stale.
 */
import type { Deps } from "../app/deps.js";
import type { RootCause } from "../platform/db/schema.js";
import { metrics } from "../platform/metrics.js";
import { type Standing, standingIn } from "./authorization.js";
import type { ExceptionRow } from "./card.js";
import { inChangeTransaction } from "./change.js";
import { placesOf } from "./exceptions.repo.js";
import { type Actor, type ActResult, humanChange } from "./exceptions.service.js";

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
  const found = await placesOf(deps.db, input.exceptionIds);
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
  const result = await inChangeTransaction(deps, (unit) =>
    unit.changeMany(allowed, (row) =>
      humanChange(
        row,
        { ...action, actor: actor.userId, isManager: standings.get(row.role) === "manager" },
        { actor, action, now },
      ),
    ),
  );
  for (const { exceptionId, refusal } of result.refused) {
    refused.push({ exceptionId, code: refusal ? "stale" : "not_found" });
  }
  const resolved = result.changed.map(({ row }) => row).sort((a, b) => a.id - b.id);
  if (resolved.length > 0)
    metrics.actions.inc({ kind: "resolve", actor: "human" }, resolved.length);
  return { resolved, refused };
}
