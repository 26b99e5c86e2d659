// The rules of the review gate, pure: who may approve, reject or break glass, and where the open
// exceptions of removed roles go. Always judged against the ACTIVE version's admins and managers,
// so a proposal cannot appoint the people who approve it.
import type { RoutingDiff } from "./diff.js";
import type { ReroutePreview } from "./preview.js";
import type { RoutingConfig } from "./routing-file.schema.js";

export interface ProposalIssue {
  /** 1-based line in the proposed text; null when it concerns the whole file. */
  line: number | null;
  path: string;
  message: string;
}

export interface OrphanMove {
  from: string;
  to: string;
  open: number;
  /** `reassign`: the proposal names the new role; `default`: a rollback falls back to its default. */
  how: "reassign" | "default";
}

export interface OrphanPlan {
  moves: OrphanMove[];
  /** Open exceptions of removed roles the proposal does not give a new role: approval waits. */
  blocked: { role: string; open: number }[];
}

/** What reviewers are shown; stored with the proposal so the card can be redrawn as it was. */
export interface ReviewSnapshot {
  baseVersion: number;
  diff: RoutingDiff;
  preview: ReroutePreview & { ms: number };
  orphans: OrphanPlan;
  warnings: ProposalIssue[];
  /** Roles whose managers may approve: changed definitions or rules, and preview movement. */
  affectedRoles: string[];
}

/**
 * Open exceptions whose role the proposal no longer defines need a new owner. The proposal's
 * `reassign:` map says where; a rollback (whose text cannot be edited) falls back to its default
 * role, which the card shows, so reviewers still see and approve the move.
 */
export function planReassignments(
  openByRole: { role: string; open: number }[],
  proposed: RoutingConfig,
  options: { fallbackToDefault: boolean },
): OrphanPlan {
  const plan: OrphanPlan = { moves: [], blocked: [] };
  for (const { role, open } of openByRole) {
    if (open === 0 || proposed.roles[role]) continue;
    const named = proposed.reassign[role];
    if (named && proposed.roles[named])
      plan.moves.push({ from: role, to: named, open, how: "reassign" });
    else if (options.fallbackToDefault)
      plan.moves.push({ from: role, to: proposed.defaultRole, open, how: "default" });
    else plan.blocked.push({ role, open });
  }
  return plan;
}

export type Verdict =
  | { ok: true; as: "admin" | "manager" | "proposer" }
  | { ok: false; reason: string };

interface Judged {
  actor: string;
  /** Who proposed it: a Slack user ID, or e.g. `file:routing.yml` / `cli:ops`. */
  author: string;
  version: number;
  active: RoutingConfig;
  affectedRoles: string[];
  /**
   * Why only an admin may approve this version (e.g. it changes `retryQueues`, where Retry
   * clicks add jobs); unset when a manager of an affected role may.
   */
  adminOnly?: string;
}

/** Why a proposal needs an admin's approval, or undefined when a manager's will do. */
export function adminOnlyReason(
  active: RoutingConfig,
  proposed: RoutingConfig,
): string | undefined {
  const before = [...new Set(active.retryQueues)].sort().join("\n");
  const after = [...new Set(proposed.retryQueues)].sort().join("\n");
  if (before !== after)
    return "it changes `retryQueues` (the queues a Retry click may add jobs to)";
  return undefined;
}

function standing(actor: string, active: RoutingConfig, affectedRoles: string[]) {
  if (active.admins.includes(actor)) return "admin" as const;
  const manages = affectedRoles.some((name) => active.roles[name]?.managers.includes(actor));
  return manages ? ("manager" as const) : null;
}

function whoMayApprove(active: RoutingConfig, affectedRoles: string[]): string {
  const existing = affectedRoles.filter((name) => active.roles[name]);
  return existing.length
    ? `an admin or a manager of ${existing.join(", ")}`
    : "an admin (this change affects no existing role's managers)";
}

export function mayApprove(input: Judged): Verdict {
  if (input.actor === input.author) {
    return {
      ok: false,
      reason: `You proposed v${input.version}: someone else must approve it (four eyes).`,
    };
  }
  const as = standing(input.actor, input.active, input.affectedRoles);
  if (input.adminOnly && as !== "admin") {
    return {
      ok: false,
      reason: `Only an admin may approve v${input.version}: ${input.adminOnly}.`,
    };
  }
  if (!as) {
    return {
      ok: false,
      reason: `Only ${whoMayApprove(input.active, input.affectedRoles)} may approve v${input.version}.`,
    };
  }
  return { ok: true, as };
}

/** Approvers may reject; the proposer may withdraw their own proposal. */
export function mayReject(input: Judged): Verdict {
  if (input.actor === input.author) return { ok: true, as: "proposer" };
  const as = standing(input.actor, input.active, input.affectedRoles);
  if (!as) {
    return {
      ok: false,
      reason: `Only ${whoMayApprove(input.active, input.affectedRoles)}, or its proposer, may reject v${input.version}.`,
    };
  }
  return { ok: true, as };
}

export function mayBreakGlass(input: {
  actor: string;
  active: RoutingConfig;
  activeVersion: number;
  /** A shell that presented the admins' break-glass token (src/routing/break-glass-token.ts). */
  tokenVerified?: boolean;
}): Verdict {
  if (input.active.admins.includes(input.actor) || input.tokenVerified)
    return { ok: true, as: "admin" };
  return {
    ok: false,
    reason: `Only admins listed in the active routing (v${input.activeVersion}, \`admins:\`) may break glass. Propose the rollback without --break-glass instead.`,
  };
}
