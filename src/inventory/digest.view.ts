/** The weekly digest of one role: the week's figures and the checklist, as one message. Pure. */
import type { PipelineReport } from "../deliveries/pipeline-report.js";
import { freshnessBlocks } from "../deliveries/pipelines.view.js";
import { safeText, truncate } from "../platform/slack/mrkdwn.js";
import type { ChecklistLine } from "./checklist.js";
import { checklistBlocks, checklistSummary } from "./checklist.view.js";
import { DAY_MS } from "./command-args.js";
import { breachRate, formatPercent, type WindowFigures } from "./figures.js";
import type { Linker } from "./links.js";
import { context, figureBlocks, type Message, section } from "./status.view.js";

export function renderDigest(
  role: string,
  figures: WindowFigures,
  lines: ChecklistLine[],
  now: Date,
  link: Linker,
  /** The pipelines the role owns, worst first, over the week. */
  freshness: PipelineReport[] = [],
): Message {
  const name = safeText(role, 100);
  return {
    text: truncate(
      `Weekly digest for ${name}: ${figures.opened} opened, breach rate ${formatPercent(breachRate(figures))}. ${checklistSummary(lines)}`,
      3000,
    ),
    blocks: [
      {
        type: "header",
        text: { type: "plain_text", text: truncate(`Weekly digest · ${role}`, 150), emoji: true },
      },
      section(`*The last 7 days in ${name}*`),
      ...figureBlocks(figures, "7d", now, 7 * DAY_MS, null),
      ...(freshness.length ? freshnessBlocks(freshness, now, 8, "last 7 days") : []),
      { type: "divider" },
      section(`*${checklistSummary(lines)}*`),
      ...checklistBlocks(lines, link),
      context("`/inventory status` for the live figures · `/inventory checklist` to check again."),
    ],
  };
}
