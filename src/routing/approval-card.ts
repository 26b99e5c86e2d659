// The approval card of a routing proposal: who proposed what and why, the readable diff, the
// 30-day preview, open exceptions that would move, warnings, and Approve / Reject while it is
// pending. Pure; everything a person typed is escaped here.
import { assertNever } from "../platform/errors.js";
import { escapeMrkdwn, mention, slackDate, truncate } from "../platform/slack/mrkdwn.js";
import { diffLines, isEmptyDiff } from "./diff.js";
import { formatProposalIssue } from "./proposal-check.js";
import type { ReviewSnapshot } from "./review-policy.js";
import type { VersionRow } from "./versions.repo.js";

export const ROUTING_ACTIONS = { approve: "routing.approve", reject: "routing.reject" } as const;

const SECTION_MAX = 2900;
const MAX_DIFF_LINES = 60;
const MAX_WARNINGS = 10;

export interface Card {
  text: string;
  blocks: object[];
}

const section = (text: string) => ({
  type: "section",
  text: { type: "mrkdwn", text: truncate(text, SECTION_MAX) },
});
const context = (text: string) => ({
  type: "context",
  elements: [{ type: "mrkdwn", text: truncate(text, SECTION_MAX) }],
});

/** A Slack user ID as a mention; `file:…` / `cli:…` authors as text. */
export function author(id: string | null): string {
  if (!id) return "nobody";
  return /^[UW][A-Z0-9]+$/.test(id) ? mention(id) : `\`${escapeMrkdwn(id)}\``;
}

export function statusLine(row: VersionRow): string {
  const when = row.decidedAt ? ` ${slackDate(row.decidedAt)}` : "";
  switch (row.status) {
    case "proposed":
      return ":hourglass_flowing_sand: Waiting for review";
    case "active":
      return `${row.breakGlass ? ":rotating_light: *Activated by break-glass*" : ":white_check_mark: *Approved and active*"} · ${author(row.decidedBy)}${when}`;
    case "superseded":
      return `:white_check_mark: Approved by ${author(row.decidedBy)}${when} · since superseded`;
    case "rejected":
      return `:x: *${row.decidedBy === row.author ? "Withdrawn" : "Rejected"}* by ${author(row.decidedBy)}${when}: ${escapeMrkdwn(row.decisionNote ?? "")}`;
    default:
      return assertNever(row.status);
  }
}

export function renderApprovalCard(row: VersionRow): Card {
  const review = row.review as ReviewSnapshot | null;
  const kind = row.rollbackOf === null ? "change" : `rollback to v${row.rollbackOf}`;
  const blocks: object[] = [
    {
      type: "header",
      text: { type: "plain_text", text: truncate(`Routing v${row.version}: ${kind}`, 150) },
    },
    section(
      [
        `*Proposed by* ${author(row.author)} via ${escapeMrkdwn(row.source)}${review ? ` · against active *v${review.baseVersion}*` : ""}`,
        `*Reason:* ${escapeMrkdwn(truncate(row.reason, 1000))}`,
        statusLine(row),
      ].join("\n"),
    ),
  ];
  if (review) blocks.push(...reviewBlocks(review));
  if (row.status === "proposed") {
    blocks.push({
      type: "actions",
      block_id: "routing_decision",
      elements: [
        {
          type: "button",
          action_id: ROUTING_ACTIONS.approve,
          text: { type: "plain_text", text: "Approve" },
          style: "primary",
          value: String(row.version),
          confirm: {
            title: { type: "plain_text", text: `Activate v${row.version}?` },
            text: {
              type: "plain_text",
              text: "Every replica switches to this routing within seconds.",
            },
            confirm: { type: "plain_text", text: "Approve" },
            deny: { type: "plain_text", text: "Cancel" },
          },
        },
        {
          type: "button",
          action_id: ROUTING_ACTIONS.reject,
          text: { type: "plain_text", text: "Reject" },
          style: "danger",
          value: String(row.version),
        },
      ],
    });
  }
  const text = `Routing v${row.version} (${kind}) by ${row.author}: ${row.status}`;
  return { text: truncate(text, 3000), blocks };
}

export function reviewBlocks(review: ReviewSnapshot): object[] {
  const blocks: object[] = [];
  const lines = diffLines(review.diff);
  const shown = lines.slice(0, MAX_DIFF_LINES).map((line) => `• ${escapeMrkdwn(line)}`);
  if (lines.length > MAX_DIFF_LINES) shown.push(`…and ${lines.length - MAX_DIFF_LINES} more`);
  blocks.push(
    section(
      isEmptyDiff(review.diff)
        ? "*Changes:* none in effect (text, comments or formatting only)"
        : `*Changes against v${review.baseVersion}:*\n${shown.join("\n")}`,
    ),
  );
  const { preview } = review;
  const moves = preview.pairs
    .slice(0, 15)
    .map((pair) => `• ${escapeMrkdwn(pair.from)} → ${escapeMrkdwn(pair.to)}: *${pair.count}*`);
  blocks.push(
    section(
      preview.moved === 0
        ? `*What changes:* none of the ${preview.total} exceptions of the last ${preview.days} days would route to another role.`
        : `*What changes:* ${preview.moved} of ${preview.total} exceptions of the last ${preview.days} days would route to another role:\n${moves.join("\n")}`,
    ),
  );
  const { orphans } = review;
  if (orphans.moves.length > 0) {
    const list = orphans.moves.map(
      (m) =>
        `• ${escapeMrkdwn(m.from)} (${m.open} open) → *${escapeMrkdwn(m.to)}*${m.how === "default" ? " (the restored version's default role)" : ""}`,
    );
    blocks.push(
      section(
        `:arrow_right: *Open exceptions of removed roles move on approval:*\n${list.join("\n")}`,
      ),
    );
  }
  if (orphans.blocked.length > 0) {
    const list = orphans.blocked.map(
      (b) =>
        `• ${escapeMrkdwn(b.role)}: ${b.open} open · add \`reassign: { ${escapeMrkdwn(b.role)}: <role> }\``,
    );
    blocks.push(
      section(
        `:no_entry: *Approval blocked:* removed roles still own open exceptions:\n${list.join("\n")}`,
      ),
    );
  }
  if (review.warnings.length > 0) {
    const list = review.warnings
      .slice(0, MAX_WARNINGS)
      .map((w) => `• ${escapeMrkdwn(formatProposalIssue(w))}`);
    if (review.warnings.length > MAX_WARNINGS)
      list.push(`…and ${review.warnings.length - MAX_WARNINGS} more`);
    blocks.push(section(`:warning: *Warnings:*\n${list.join("\n")}`));
  }
  const approvers = review.affectedRoles.length
    ? `an admin or a manager (in the active version) of ${review.affectedRoles.map(escapeMrkdwn).join(", ")}`
    : "an admin";
  blocks.push(
    context(
      `Who may approve: ${approvers}, other than the proposer. Preview took ${preview.ms} ms.`,
    ),
  );
  return blocks;
}
