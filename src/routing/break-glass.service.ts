/** The admins' emergency exit: an earlier version, active at once, flagged for everyone. */

import type { Deps } from "../app/deps.js";
import { recordAudit } from "../audit/audit.js";
import { activate, afterDecision, type DecisionResult, fail } from "./activation.service.js";
import { queueDecision } from "./approval-card.service.js";
import { contentHash } from "./proposal-check.js";
import { mayBreakGlass, planReassignments } from "./review-policy.js";
import {
  activeVersion,
  insertNextVersion,
  lockRouting,
  openByRole,
  versionByNumber,
} from "./versions.repo.js";
import { configOf, rollbackRefusal, type Via } from "./versions.service.js";

/**
 * Emergency: an admin activates an earlier version at once, skipping review (and the Slack
 * checks, which may be what is broken). Flagged `break_glass` for the audit and the checklist.
 */
export async function breakGlassRollback(
  deps: Deps,
  input: { toVersion: number; actor: string; reason: string; via: Via; tokenVerified?: boolean },
): Promise<DecisionResult> {
  const active = await activeVersion(deps.db);
  if (!active) return fail("stale", "There is no active routing version.");
  const verdict = mayBreakGlass({
    actor: input.actor,
    active: configOf(active),
    activeVersion: active.version,
    tokenVerified: input.tokenVerified,
  });
  if (!verdict.ok) {
    await recordAudit(deps.db, {
      actor: input.actor,
      source: "routing",
      action: "routing.break_glass_denied",
      note: input.reason,
      details: { rollbackOf: input.toVersion, via: input.via, reason: verdict.reason },
      at: deps.clock.now(),
    });
    return fail("forbidden", verdict.reason);
  }
  const target = await versionByNumber(deps.db, input.toVersion);
  const refusal = rollbackRefusal(target, input.toVersion);
  if (refusal || !target) return fail("not_found", refusal ?? "");
  const restored = configOf(target);
  const now = deps.clock.now();
  const reason = input.reason.trim() || `Break-glass rollback to v${target.version}`;
  const result = await deps.db.transaction(async (tx): Promise<DecisionResult> => {
    await lockRouting(tx);
    const current = await activeVersion(tx);
    if (!current) return fail("stale", "There is no active routing version.");
    const row = await insertNextVersion(tx, {
      text: target.text,
      contentHash: contentHash(target.text),
      status: "proposed",
      source: input.via,
      author: input.actor,
      reason,
      rollbackOf: target.version,
      baseVersion: current.version,
      breakGlass: true,
      createdAt: now,
    });
    const { version } = row;
    const plan = planReassignments(await openByRole(tx), restored, { fallbackToDefault: true });
    await recordAudit(tx, {
      actor: input.actor,
      source: "routing",
      action: "routing.break_glass",
      note: reason,
      expectedOutcome: `v${version} (a copy of v${target.version}) is active at once; everyone is told`,
      details: {
        version,
        rollbackOf: target.version,
        previous: current.version,
        via: input.via,
        breakGlass: true,
        ...(input.tokenVerified ? { authorizedBy: "break-glass token" } : {}),
      },
      at: now,
    });
    const activated = await activate(deps, tx, {
      row: row,
      actor: input.actor,
      now,
      plan: plan.moves,
      note: reason,
    });
    return queueDecision(tx, deps.approvalsChannel, activated);
  });
  return afterDecision(deps, result);
}
