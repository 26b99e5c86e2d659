/**
 * Routing versions: the file becomes version 1 on first start; every later change (a changed
 * file, a Slack modal, the CLI, a rollback) is a proposal that is checked completely before it
 * is stored and shown to reviewers. Approval lives in decisions.service.ts.
 */

import type { Deps } from "../app/deps.js";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.js";
import type { Db } from "../platform/db/db.js";
import { queueApprovalCard } from "./approval-card.service.js";
import { configOf } from "./load.js";
import { checkProposalText, contentHash } from "./proposal-check.js";
import { buildReview } from "./review.service.js";
import type { ProposalIssue, ReviewSnapshot } from "./review-policy.js";
import { checkAgainstSlack } from "./slack-check.service.js";
import {
  activeVersion,
  insertNextVersion,
  latestWithHash,
  lockRouting,
  notifyActivated,
  type VersionRow,
  versionByNumber,
} from "./versions.repo.js";

export type Via = "slack" | "cli" | "file";

// Lives beside the parser, so routing modules that need a version's config need not import this
// service (which would close a circle through the approval card and activation).
export { configOf };

/**
 * On start: an empty table takes the file as version 1; otherwise reports whether the file
 * differs from the active version (the caller proposes it; it is never applied silently).
 */
export async function syncFileOnStart(
  db: Db,
  input: { text: string; fileName: string; now: Date },
): Promise<{ kind: "bootstrapped" | "unchanged" | "differs"; active: VersionRow }> {
  const hash = contentHash(input.text);
  return db.transaction(async (tx) => {
    await lockRouting(tx);
    const active = await activeVersion(tx);
    if (active) return { kind: active.contentHash === hash ? "unchanged" : "differs", active };
    const row = await insertNextVersion(tx, {
      text: input.text,
      contentHash: hash,
      status: "active",
      source: "file",
      author: `file:${input.fileName}`,
      reason: `bootstrapped from ${input.fileName} on first start`,
      decidedBy: SYSTEM_ACTOR,
      decidedAt: input.now,
      activatedAt: input.now,
      createdAt: input.now,
    });
    const { version } = row;
    await recordAudit(tx, {
      actor: SYSTEM_ACTOR,
      source: "routing",
      action: "routing.bootstrapped",
      note: `routing v${version} bootstrapped from ${input.fileName}`,
      details: { version, contentHash: hash, file: input.fileName },
      at: input.now,
    });
    await notifyActivated(tx, version);
    return { kind: "bootstrapped" as const, active: row };
  });
}

export interface ProposeInput {
  text: string;
  author: string;
  reason: string;
  via: Via;
  fileName?: string;
  rollbackOf?: number;
}

export type ProposeResult =
  | { ok: true; row: VersionRow; review: ReviewSnapshot }
  | { ok: false; kind: "invalid"; errors: ProposalIssue[]; warnings: ProposalIssue[] }
  | { ok: false; kind: "unchanged" | "duplicate" | "conflict" | "not_found"; message: string };

/** Checks a proposal completely, stores it, and puts it in front of reviewers. */
export async function proposeChange(deps: Deps, input: ProposeInput): Promise<ProposeResult> {
  const active = await activeVersion(deps.db);
  if (!active)
    return { ok: false, kind: "conflict", message: "There is no active routing version yet." };
  const hash = contentHash(input.text);
  const same = await sameText(deps.db, active, hash, input.via);
  if (same) return { ok: false, ...same };

  const activeConfig = configOf(active);
  const fileName = input.fileName ?? "proposal";
  const local = checkProposalText(input.text, fileName, activeConfig);
  if (!local.ok) return refuse(deps, input, hash, local.errors, []);
  const remote = await checkAgainstSlack(deps, input.text, local.config);
  const warnings = [...local.warnings, ...remote.warnings];
  if (remote.errors.length > 0) return refuse(deps, input, hash, remote.errors, warnings);

  const review = await buildReview(deps, {
    baseVersion: active.version,
    active: activeConfig,
    proposed: local.config,
    warnings,
    isRollback: input.rollbackOf !== undefined,
  });
  const now = deps.clock.now();
  const stored = await deps.db.transaction(async (tx) => {
    await lockRouting(tx);
    const current = await activeVersion(tx);
    if (current?.version !== active.version) return null;
    if (await sameText(tx, current, hash, input.via)) return undefined;
    const row = await insertNextVersion(tx, {
      text: input.text,
      contentHash: hash,
      status: "proposed",
      source: input.via,
      author: input.author,
      reason: input.reason,
      rollbackOf: input.rollbackOf ?? null,
      baseVersion: active.version,
      review,
      createdAt: now,
    });
    const { version } = row;
    const details = { version, baseVersion: active.version, via: input.via, contentHash: hash };
    await recordAudit(tx, {
      actor: input.author,
      source: "routing",
      action: "routing.validated",
      details: { ...details, warnings: warnings.slice(0, 50) },
      at: now,
    });
    await recordAudit(tx, {
      actor: input.author,
      source: "routing",
      action: input.rollbackOf === undefined ? "routing.proposed" : "routing.rollback_proposed",
      note: input.reason,
      expectedOutcome: `v${version} is reviewed and approved by someone other than its proposer`,
      details: {
        ...details,
        rollbackOf: input.rollbackOf ?? null,
        preview: { total: review.preview.total, moved: review.preview.moved },
        affectedRoles: review.affectedRoles,
      },
      at: now,
    });
    await queueApprovalCard(tx, deps.approvalsChannel, row);
    return row;
  });
  if (stored === null)
    return {
      ok: false,
      kind: "conflict",
      message: "The active routing version changed while your proposal was checked; propose again.",
    };
  if (stored === undefined)
    return { ok: false, kind: "duplicate", message: "The same text was just proposed." };
  return { ok: true, row: stored, review };
}

/** An earlier version's text, through the same gate (`rollback_of` records where it came from). */
export async function proposeRollback(
  deps: Deps,
  input: { toVersion: number; author: string; reason?: string; via: Via },
): Promise<ProposeResult> {
  const target = await versionByNumber(deps.db, input.toVersion);
  const refusal = rollbackRefusal(target, input.toVersion);
  if (refusal || !target) return { ok: false, kind: "not_found", message: refusal ?? "" };
  return proposeChange(deps, {
    text: target.text,
    author: input.author,
    reason: input.reason?.trim() || `Rollback to v${target.version}`,
    via: input.via,
    fileName: `routing v${target.version}`,
    rollbackOf: target.version,
  });
}

/** Only a version that was once active (now superseded) can be rolled back to. */
export function rollbackRefusal(target: VersionRow | undefined, version: number): string | null {
  if (!target) return `There is no routing v${version}.`;
  if (target.status === "active") return `v${version} is the active version already.`;
  if (target.status !== "superseded")
    return `v${version} was never active (it is ${target.status}); only earlier active versions can be rolled back to.`;
  return null;
}

/** Is this text the active one, already pending, or (for the file) already turned down? */
async function sameText(
  db: Parameters<typeof latestWithHash>[0],
  active: VersionRow,
  hash: string,
  via: Via,
): Promise<{ kind: "unchanged" | "duplicate"; message: string } | null> {
  if (active.contentHash === hash)
    return {
      kind: "unchanged",
      message: `This is exactly the active version (v${active.version}).`,
    };
  const latest = await latestWithHash(db, hash);
  if (latest?.status === "proposed")
    return {
      kind: "duplicate",
      message: `The same text is already proposed as v${latest.version}.`,
    };
  // A deploy that still carries a rejected file must not re-propose it at every restart.
  const decidedAfterActive =
    latest?.status === "rejected" && latest.createdAt >= (active.activatedAt ?? active.createdAt);
  if (via === "file" && decidedAfterActive && latest)
    return {
      kind: "duplicate",
      message: `The routing file is v${latest.version}, which was rejected.`,
    };
  return null;
}

async function refuse(
  deps: Deps,
  input: ProposeInput,
  hash: string,
  errors: ProposalIssue[],
  warnings: ProposalIssue[],
): Promise<ProposeResult> {
  await recordAudit(deps.db, {
    actor: input.author,
    source: "routing",
    action: "routing.refused",
    note: input.reason,
    details: {
      via: input.via,
      contentHash: hash,
      rollbackOf: input.rollbackOf ?? null,
      errors: errors.slice(0, 50),
      errorCount: errors.length,
    },
    at: deps.clock.now(),
  });
  return { ok: false, kind: "invalid", errors, warnings };
}
