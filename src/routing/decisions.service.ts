/**
 * Decisions on proposals: approve (four eyes, activates atomically) and reject (with a reason;
 * the proposer may withdraw). Every routing write takes one advisory lock, so two
 * approvals at once activate one version; the partial unique index backs that up.
 */
import { and, eq } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { recordAudit } from "../audit/audit.js";
import { routingVersions } from "../platform/db/schema.js";
import { activate, afterDecision, type DecisionResult, fail } from "./activation.service.js";
import { queueDecision } from "./approval-card.service.js";
import {
  adminOnlyReason,
  mayApprove,
  mayReject,
  planReassignments,
  type ReviewSnapshot,
} from "./review-policy.js";
import {
  activeVersion,
  lockRouting,
  openByRole,
  type VersionRow,
  versionByNumber,
} from "./versions.repo.js";
import { configOf, type Via } from "./versions.service.js";

export type { DecisionResult } from "./activation.service.js";

export async function approveProposal(
  deps: Deps,
  input: { version: number; actor: string; via: Via },
): Promise<DecisionResult> {
  const row = await versionByNumber(deps.db, input.version);
  const active = await activeVersion(deps.db);
  const precheck = pendingRefusal(row, active, input.version);
  if (precheck || !row || !active) return fail("stale", precheck ?? "");
  const review = row.review as ReviewSnapshot;
  const proposed = configOf(row);
  const adminOnly = adminOnlyReason(configOf(active), proposed);
  const verdict = mayApprove({
    actor: input.actor,
    author: row.author,
    version: row.version,
    active: configOf(active),
    affectedRoles: review.affectedRoles,
    ...(adminOnly ? { adminOnly } : {}),
  });
  if (!verdict.ok) return deny(deps, input, row, "approve", verdict.reason);
  const now = deps.clock.now();

  const result = await deps.db.transaction(async (tx): Promise<DecisionResult> => {
    await lockRouting(tx);
    const locked = await versionByNumber(tx, row.version, { lock: true });
    const current = await activeVersion(tx);
    const refusal = pendingRefusal(locked, current, row.version);
    if (refusal || !locked) return fail("stale", refusal ?? "");
    const plan = planReassignments(await openByRole(tx), proposed, {
      fallbackToDefault: locked.rollbackOf !== null,
    });
    if (plan.blocked.length > 0) {
      await tx
        .update(routingVersions)
        .set({ review: { ...review, orphans: plan } })
        .where(eq(routingVersions.version, row.version));
      await recordAudit(tx, {
        actor: input.actor,
        source: "routing",
        action: "routing.approval_blocked",
        details: { version: row.version, blocked: plan.blocked, via: input.via },
        at: now,
      });
      const list = plan.blocked.map((b) => `${b.role} (${b.open} open)`).join(", ");
      return fail(
        "blocked",
        `v${row.version} removes roles that still own open exceptions: ${list}. It can be approved once a proposal maps them (\`reassign: { old-role: new-role }\`) or they are resolved.`,
      );
    }
    await recordAudit(tx, {
      actor: input.actor,
      source: "routing",
      action: "routing.approved",
      expectedOutcome: `v${row.version} becomes the active routing on every replica at once`,
      details: { version: row.version, as: verdict.as, via: input.via, author: row.author },
      at: now,
    });
    const activated = await activate(deps, tx, {
      row: locked,
      actor: input.actor,
      now,
      plan: plan.moves,
    });
    return queueDecision(tx, deps.approvalsChannel, activated);
  });
  return afterDecision(deps, result);
}

export async function rejectProposal(
  deps: Deps,
  input: { version: number; actor: string; reason: string; via: Via },
): Promise<DecisionResult> {
  const reason = input.reason.trim();
  if (!reason) return fail("stale", "A rejection needs a reason.");
  const check = await rejectionCheck(deps, input);
  if (!check.ok) return check;
  const { row, verdict } = check;
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx): Promise<DecisionResult> => {
    await lockRouting(tx);
    const [updated] = await tx
      .update(routingVersions)
      .set({ status: "rejected", decidedBy: input.actor, decidedAt: now, decisionNote: reason })
      .where(and(eq(routingVersions.version, row.version), eq(routingVersions.status, "proposed")))
      .returning();
    if (!updated) {
      const now2 = await versionByNumber(tx, row.version);
      return fail(
        "stale",
        pendingRefusal(now2, null, row.version) ?? `v${row.version} was already decided.`,
      );
    }
    await recordAudit(tx, {
      actor: input.actor,
      source: "routing",
      action: verdict.as === "proposer" ? "routing.withdrawn" : "routing.rejected",
      note: reason,
      expectedOutcome: `v${row.version} is never activated; the active routing stays as it is`,
      details: { version: row.version, as: verdict.as, via: input.via },
      at: now,
    });
    return queueDecision(tx, deps.approvalsChannel, {
      ok: true,
      row: updated,
      moved: [],
      outdated: [],
      changes: [],
    });
  });
  return afterDecision(deps, result);
}

/** May `actor` reject (or, as its proposer, withdraw) this proposal? Denials are audited. */
export async function rejectionVerdict(
  deps: Deps,
  input: { version: number; actor: string },
): Promise<{ ok: true } | { ok: false; message: string }> {
  const check = await rejectionCheck(deps, { ...input, via: "slack" });
  return check.ok ? { ok: true } : check;
}

async function rejectionCheck(deps: Deps, input: { version: number; actor: string; via: Via }) {
  const row = await versionByNumber(deps.db, input.version);
  const active = await activeVersion(deps.db);
  const precheck = pendingRefusal(row, active, input.version, { allowOutdated: true });
  if (precheck || !row || !active) return fail("stale", precheck ?? "");
  const verdict = mayReject({
    actor: input.actor,
    author: row.author,
    version: row.version,
    active: configOf(active),
    affectedRoles: (row.review as ReviewSnapshot).affectedRoles,
  });
  if (!verdict.ok)
    return deny(deps, input, row, "reject", verdict.reason) as Promise<ReturnType<typeof fail>>;
  return { ok: true as const, row, verdict };
}

function pendingRefusal(
  row: VersionRow | undefined,
  active: VersionRow | null | undefined,
  version: number,
  options: { allowOutdated?: boolean } = {},
): string | null {
  if (!row) return `There is no routing v${version}.`;
  if (row.status === "active")
    return `v${version} is already active (approved by ${who(row.decidedBy)}).`;
  if (row.status === "superseded") return `v${version} was active once and has been superseded.`;
  if (row.status === "rejected")
    return `v${version} was rejected by ${who(row.decidedBy)}: ${row.decisionNote ?? "no reason"}.`;
  if (!options.allowOutdated && active && row.baseVersion !== active.version)
    return `v${version} was reviewed against v${row.baseVersion}, but v${active.version} is active now: propose it again.`;
  return null;
}

const who = (id: string | null) =>
  id && /^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : (id ?? "nobody");

async function deny(
  deps: Deps,
  input: { actor: string; via: Via },
  row: VersionRow,
  attempt: "approve" | "reject",
  reason: string,
): Promise<DecisionResult> {
  await recordAudit(deps.db, {
    actor: input.actor,
    source: "routing",
    action: attempt === "approve" ? "routing.approval_denied" : "routing.rejection_denied",
    details: { version: row.version, via: input.via, reason },
    at: deps.clock.now(),
  });
  return fail("forbidden", `${reason} Nothing was changed.`);
}
