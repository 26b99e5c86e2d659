/**
 * Activation, the one way a routing version becomes active (approval and break-glass): in the
 * caller's transaction, under the routing lock, the old version is superseded, proposals reviewed
 * against it are closed as outdated, open exceptions of removed roles move, and a NOTIFY tells
 * every replica once it commits.
 */
import { and, eq, ne } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.js";
import { openChangeUnit, runAfterCommit } from "../exceptions/change.js";
import type { Tx } from "../platform/db/db.js";
import { routingVersions } from "../platform/db/schema.js";
import type { DecisionResult } from "./decision-result.js";
import { configOf } from "./load.js";
import { moveOrphans } from "./orphans.service.js";
import type { OrphanMove } from "./review-policy.js";
import { notifyActivated, type VersionRow } from "./versions.repo.js";

export { type DecisionResult, fail } from "./decision-result.js";

/** Makes `row` the one active version; retires the old one and proposals reviewed against it. */
export async function activate(
  deps: Pick<Deps, "db" | "logger" | "exceptionEffects">,
  tx: Tx,
  input: {
    row: VersionRow;
    actor: string;
    now: Date;
    plan: OrphanMove[];
    note?: string;
  },
): Promise<DecisionResult> {
  const { row, now } = input;
  const [previous] = await tx
    .update(routingVersions)
    .set({ status: "superseded" })
    .where(eq(routingVersions.status, "active"))
    .returning();
  const [activated] = await tx
    .update(routingVersions)
    .set({
      status: "active",
      decidedBy: input.actor,
      decidedAt: now,
      decisionNote: input.note ?? null,
      activatedAt: now,
    })
    .where(eq(routingVersions.version, row.version))
    .returning();
  const outdatedNote = `outdated: v${row.version} was activated after this was proposed; propose again against it`;
  const outdated = await tx
    .update(routingVersions)
    .set({
      status: "rejected",
      decidedBy: SYSTEM_ACTOR,
      decidedAt: now,
      decisionNote: outdatedNote,
    })
    .where(and(eq(routingVersions.status, "proposed"), ne(routingVersions.version, row.version)))
    .returning();
  // The moved exceptions' deadlines follow the version being activated, not the one in force.
  const config = configOf(row);
  const unit = openChangeUnit(deps, tx, { config });
  const moved = await moveOrphans(unit, {
    moves: input.plan,
    config,
    version: row.version,
    actor: input.actor,
    now,
  });
  const base = { actor: input.actor, source: "routing", at: now } as const;
  await recordAudit(tx, {
    ...base,
    action: "routing.activated",
    details: {
      version: row.version,
      previous: previous?.version ?? null,
      rollbackOf: row.rollbackOf,
      breakGlass: row.breakGlass,
      reassigned: moved.length,
    },
  });
  if (previous)
    await recordAudit(tx, {
      ...base,
      action: "routing.superseded",
      details: { version: previous.version, by: row.version },
    });
  for (const stale of outdated)
    await recordAudit(tx, {
      ...base,
      actor: SYSTEM_ACTOR,
      action: "routing.outdated",
      note: outdatedNote,
      details: { version: stale.version, by: row.version },
    });
  await notifyActivated(tx, row.version);
  return { ok: true, row: activated as VersionRow, moved, outdated, changes: unit.committed };
}

/**
 * After the commit: this process switches at once, the others on the NOTIFY; the moved
 * exceptions' cards follow. (The approval cards were queued with the decision.)
 */
export async function afterDecision(deps: Deps, result: DecisionResult): Promise<DecisionResult> {
  if (!result.ok) return result;
  if (result.row.status === "active") await deps.routing.refresh?.();
  await runAfterCommit(deps, result.changes);
  return result;
}
