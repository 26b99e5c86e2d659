/**
 * The App Home tab: what the user holds, their roles' unresolved exceptions with SLA state, and
 * the week's figures. Pure; lists are capped so the view stays inside Slack's 100 blocks.
 */
import type { PipelineReport } from "../deliveries/pipeline-report.js";
import { freshnessBlocks } from "../deliveries/pipelines.view.js";
import { safeText, slackDate } from "../platform/slack/mrkdwn.js";
import { DAY_MS } from "./command-args.js";
import type { WindowFigures } from "./figures.js";
import type { Linker } from "./links.js";
import { itemList, type QueueItem } from "./queue.view.js";
import { context, figureBlocks, section } from "./status.view.js";

export interface HomeReport {
  userId: string;
  roles: string[];
  held: QueueItem[];
  /** Unresolved in the user's roles, most urgent first. */
  roleOpen: QueueItem[];
  /** The last 7 days of the user's roles; null when the user has no role. */
  figures: WindowFigures | null;
  /** The pipelines the user's roles own, worst first (last 24 h); absent or empty: none. */
  freshness?: PipelineReport[];
  now: Date;
}

export const HOME_HELD_MAX = 12;
export const HOME_ROLE_MAX = 15;

export interface HomeView {
  type: "home";
  blocks: object[];
}

export function renderHome(report: HomeReport, link: Linker): HomeView {
  const roles = report.roles.map((role) => `*${safeText(role, 100)}*`).join(", ");
  const blocks: object[] = [
    {
      type: "header",
      text: { type: "plain_text", text: "Inventory sync exceptions", emoji: true },
    },
    context(
      `${roles ? `Your roles: ${roles}` : "You are not in any role of the routing file."} · updated ${slackDate(report.now)} · \`/inventory help\``,
    ),
    { type: "divider" },
    section(
      report.held.length ? `*You hold ${report.held.length}*` : "*You hold nothing right now.*",
    ),
    ...itemList(
      report.held,
      report.userId,
      link,
      "home-held",
      HOME_HELD_MAX,
      "Run `/inventory mine` for the rest.",
    ),
  ];
  if (report.roles.length > 0) {
    const breached = report.roleOpen.filter((item) => item.standing.urgency === "breached").length;
    blocks.push(
      { type: "divider" },
      section(
        report.roleOpen.length
          ? `*Unresolved in your roles: ${report.roleOpen.length}*${breached ? ` · :rotating_light: ${breached} breached` : ""}`
          : ":white_check_mark: *Nothing unresolved in your roles.*",
      ),
      ...itemList(
        report.roleOpen,
        report.userId,
        link,
        "home-role",
        HOME_ROLE_MAX,
        "Run `/inventory status` for every role.",
      ),
    );
  }
  if (report.figures) {
    blocks.push(
      { type: "divider" },
      section(`*This week in ${report.roles.map((role) => safeText(role, 100)).join(", ")}*`),
      ...figureBlocks(report.figures, "7d", report.now, 7 * DAY_MS, null),
    );
  }
  if (report.freshness?.length) {
    blocks.push({ type: "divider" }, ...freshnessBlocks(report.freshness, report.now, 5));
  }
  return { type: "home", blocks };
}
