// What `/inventory routes` shows: the overview, `test` answers, one version, and the modals for
// proposing and rejecting. Pure.
import { escapeMrkdwn, slackDate, truncate } from "../platform/slack/mrkdwn.js";
import { author, renderApprovalCard, statusLine } from "./approval-card.js";
import { formatProposalIssue } from "./proposal-check.js";
import type { ProposalIssue } from "./review-policy.js";
import type { TestAnswer } from "./routes-command.js";
import type { VersionRow } from "./versions.repo.js";

export const PROPOSE_VIEW = "routing.propose";
export const REJECT_VIEW = "routing.reject";
/** Slack's limit for a plain_text_input. */
export const SLACK_INPUT_MAX = 3000;

const section = (text: string) => ({
  type: "section",
  text: { type: "mrkdwn", text: truncate(text, 2900) },
});

function versionLine(row: VersionRow): string {
  const extra = [
    row.rollbackOf !== null ? `rollback of v${row.rollbackOf}` : null,
    row.breakGlass ? ":rotating_light: break-glass" : null,
  ].filter(Boolean);
  return `*v${row.version}* ${row.status} · proposed by ${author(row.author)} ${slackDate(row.createdAt)}${extra.length ? ` · ${extra.join(" · ")}` : ""} · _${escapeMrkdwn(truncate(row.reason, 200))}_`;
}

export function overviewText(
  active: VersionRow,
  pending: VersionRow[],
  recent: VersionRow[],
): string {
  const lines = [
    `*Routing:* active version *v${active.version}*${active.breakGlass ? " :rotating_light: (break-glass)" : ""}`,
    `Approved by ${author(active.decidedBy)}${active.activatedAt ? ` ${slackDate(active.activatedAt)}` : ""} · proposed by ${author(active.author)} via ${escapeMrkdwn(active.source)}: _${escapeMrkdwn(truncate(active.reason, 300))}_`,
  ];
  lines.push(pending.length ? "*Pending review:*" : "*Pending review:* none");
  for (const row of pending)
    lines.push(`• ${versionLine(row)} · \`/inventory routes show ${row.version}\``);
  lines.push("*Last changes:*");
  for (const row of recent) {
    const decided = row.decidedBy && row.status !== "proposed" ? ` · ${statusLine(row)}` : "";
    lines.push(`• ${versionLine(row)}${decided}`);
  }
  lines.push("`/inventory routes help` lists what else you can do.");
  return lines.join("\n");
}

export function testText(
  fields: Record<string, string>,
  answers: { label: string; answer: TestAnswer }[],
): string {
  const given = Object.entries(fields)
    .map(([key, value]) => `${key}=${escapeMrkdwn(value)}`)
    .join(" ");
  const lines = [`*Where would \`${given}\` go?*`];
  for (const { label, answer } of answers) {
    const rule = answer.isDefault
      ? `the default rule (${answer.rule}, line ${answer.line})`
      : `rule ${answer.rule} (line ${answer.line})`;
    lines.push(
      `*${label}:* ${rule} → *${escapeMrkdwn(answer.role)}* in <#${answer.channel}> · severity ${answer.severity}`,
      `   SLA: claim ${answer.sla.claim}, resolve ${answer.sla.resolve}, hours ${escapeMrkdwn(answer.sla.hours ?? "")} (${escapeMrkdwn(answer.sla.timezone ?? "")})`,
      answer.pipeline
        ? `   Pipeline: *${escapeMrkdwn(answer.pipeline.name)}* (${answer.pipeline.position}, line ${answer.pipeline.line}) · budget ${answer.pipeline.budget} · freshness ${answer.pipeline.freshness} · hours ${escapeMrkdwn(String(answer.pipeline.hours))} · gates to *${escapeMrkdwn(String(answer.pipeline.role))}*`
        : "   Pipeline: none declared matches (its deliveries count under no pipeline)",
    );
  }
  lines.push(
    "_Fields you leave out count as empty: only `*` matches them (operation defaults to stock_update)._",
  );
  return lines.join("\n");
}

export function versionBlocks(row: VersionRow): object[] {
  const card = renderApprovalCard(row);
  const yaml = truncate(row.text.replaceAll("```", "ʼʼʼ"), 2700);
  return [
    ...card.blocks.filter((block) => (block as { type: string }).type !== "actions"),
    section(`\`\`\`${escapeYaml(yaml)}\`\`\``),
    ...card.blocks.filter((block) => (block as { type: string }).type === "actions"),
  ];
}

const escapeYaml = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

export function proposeView(active: VersionRow): object {
  const fits = active.text.length <= SLACK_INPUT_MAX;
  return {
    type: "modal",
    callback_id: PROPOSE_VIEW,
    private_metadata: JSON.stringify({ base: active.version }),
    title: { type: "plain_text", text: "Propose routing" },
    submit: { type: "plain_text", text: "Check and propose" },
    close: { type: "plain_text", text: "Cancel" },
    blocks: [
      section(
        fits
          ? `Edit the routing (active: v${active.version}). It is checked at once, then reviewed by an admin or a manager of the roles it affects before it applies.`
          : `The active version (v${active.version}) has ${active.text.length} characters, more than a Slack text box holds (${SLACK_INPUT_MAX}). Paste a shorter file, or propose from a shell: \`npm run routes -- propose routing.yml --reason "…"\`.`,
      ),
      {
        type: "input",
        block_id: "yaml",
        label: { type: "plain_text", text: "Routing YAML" },
        element: {
          type: "plain_text_input",
          action_id: "text",
          multiline: true,
          max_length: SLACK_INPUT_MAX,
          ...(fits ? { initial_value: active.text } : {}),
        },
      },
      {
        type: "input",
        block_id: "reason",
        label: { type: "plain_text", text: "Why this change?" },
        element: { type: "plain_text_input", action_id: "text", max_length: 500 },
      },
    ],
  };
}

export function resultView(title: string, text: string): object {
  return {
    type: "modal",
    callback_id: `${PROPOSE_VIEW}.result`,
    title: { type: "plain_text", text: truncate(title, 24) },
    close: { type: "plain_text", text: "Close" },
    blocks: [section(text)],
  };
}

export function rejectView(version: number, channel: string | null): object {
  return {
    type: "modal",
    callback_id: REJECT_VIEW,
    private_metadata: JSON.stringify({ version, channel }),
    title: { type: "plain_text", text: `Reject v${version}` },
    submit: { type: "plain_text", text: "Reject" },
    close: { type: "plain_text", text: "Cancel" },
    blocks: [
      {
        type: "input",
        block_id: "reason",
        label: { type: "plain_text", text: "Why? The proposer and the audit see this." },
        element: { type: "plain_text_input", action_id: "text", multiline: true, max_length: 1000 },
      },
    ],
  };
}

/** Every problem at once, cut to what a Slack field error or message can hold. */
export function issueList(issues: ProposalIssue[], max = 1800): string {
  const lines: string[] = [];
  let used = 0;
  for (const [i, issue] of issues.entries()) {
    const line = formatProposalIssue(issue);
    if (used + line.length > max) {
      lines.push(`…and ${issues.length - i} more`);
      break;
    }
    lines.push(line);
    used += line.length + 1;
  }
  return lines.join("\n");
}
