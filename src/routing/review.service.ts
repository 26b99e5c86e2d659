/**
 * Builds what reviewers see for a proposal: the diff against the active version, the 30-day
 * re-routing preview over real exceptions, and where open exceptions of removed roles go.
 */
import type { Deps } from "../app/deps.js";
import { diffRouting } from "./diff.js";
import { emptyTally, finishPreview, PREVIEW_DAYS, previewRoles, tallyReroutes } from "./preview.js";
import {
  type OrphanPlan,
  type ProposalIssue,
  planReassignments,
  type ReviewSnapshot,
} from "./review-policy.js";
import type { RoutingConfig } from "./routing-file.schema.js";
import { openByRole, recentEvents } from "./versions.repo.js";

export const PREVIEW_BATCH = 2_000;

export async function buildReview(
  deps: Pick<Deps, "db" | "clock">,
  input: {
    baseVersion: number;
    active: RoutingConfig;
    proposed: RoutingConfig;
    warnings: ProposalIssue[];
    isRollback: boolean;
  },
): Promise<ReviewSnapshot> {
  const diff = diffRouting(input.active, input.proposed);
  const started = performance.now();
  const since = new Date(deps.clock.now().getTime() - PREVIEW_DAYS * 86_400_000);
  const tally = emptyTally();
  for await (const batch of recentEvents(deps.db, since, PREVIEW_BATCH))
    tallyReroutes(tally, input.active, input.proposed, batch);
  const preview = { ...finishPreview(tally), ms: Math.round(performance.now() - started) };
  const orphans = await orphanPlan(deps, input.proposed, input.isRollback);
  const affectedRoles = [
    ...new Set([
      ...diff.affectedRoles,
      ...previewRoles(preview),
      ...orphans.moves.flatMap((move) => [move.from, move.to]),
      ...orphans.blocked.map((blocked) => blocked.role),
    ]),
  ].sort();
  return {
    baseVersion: input.baseVersion,
    diff,
    preview,
    orphans,
    warnings: input.warnings,
    affectedRoles,
  };
}

export async function orphanPlan(
  deps: Pick<Deps, "db">,
  proposed: RoutingConfig,
  isRollback: boolean,
): Promise<OrphanPlan> {
  return planReassignments(await openByRole(deps.db), proposed, {
    fallbackToDefault: isRollback,
  });
}
