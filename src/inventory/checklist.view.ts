/** The checklist as Block Kit: one section per line, pass or needs-attention, with links. */
import { mrkdwnLink, slackDate, truncate } from "../platform/slack/mrkdwn.js";
import type { ChecklistLine } from "./checklist.js";
import type { Linker } from "./links.js";
import { context, type Message, section } from "./status.view.js";

export function checklistBlocks(lines: ChecklistLine[], link: Linker): object[] {
  return lines.map((line) => {
    const mark = line.status === "pass" ? ":white_check_mark:" : ":warning:";
    const verdict = line.status === "pass" ? "pass" : "needs attention";
    const links = line.links.flatMap((target) => {
      const url = link(target.channel, target.ts);
      return url ? [mrkdwnLink(url, target.label)] : [];
    });
    const open = links.length ? `\nOpen: ${links.join(" · ")}` : "";
    return section(`${mark} *${line.title}* — ${verdict}\n${line.detail}${open}`);
  });
}

export function checklistSummary(lines: ChecklistLine[]): string {
  const attention = lines.filter((line) => line.status === "attention").length;
  return attention === 0
    ? `Monday checklist: all ${lines.length} lines pass.`
    : `Monday checklist: ${attention} of ${lines.length} lines need attention.`;
}

export function renderChecklist(lines: ChecklistLine[], now: Date, link: Linker): Message {
  return {
    text: checklistSummary(lines),
    blocks: [
      {
        type: "header",
        text: { type: "plain_text", text: truncate(checklistSummary(lines), 150), emoji: true },
      },
      ...checklistBlocks(lines, link),
      context(`Checked against live data ${slackDate(now)}.`),
    ],
  };
}
