/**
 * Exceptions as list items with the card's own buttons (same action ids, so the card listeners
 * handle a click from `/inventory mine` or the Home tab exactly like one on the card), and the
 * `/inventory mine` message built from them. Pure.
 */
import { ACTIONS } from "../exceptions/card.js";
import { mention, mrkdwnLink, safeText, truncate } from "../platform/slack/mrkdwn.js";
import { formatDuration } from "./figures.js";
import type { Linker } from "./links.js";
import type { LiveException, SlaStanding } from "./sla-state.js";
import { context, type Message, section } from "./status.view.js";

export interface QueueItem {
  row: LiveException;
  standing: SlaStanding;
}

const SEVERITY_ICON: Record<string, string> = {
  low: ":white_circle:",
  normal: ":large_blue_circle:",
  high: ":large_orange_circle:",
  critical: ":red_circle:",
};

export function slaText(standing: SlaStanding): string {
  const what = standing.deadline === "claim" ? "claim" : "resolve";
  switch (standing.urgency) {
    case "breached":
      return ":rotating_light: SLA breached";
    case "overdue":
      return `:alarm_clock: ${what} overdue by ${formatDuration(-standing.remainingMs)}`;
    case "soon":
      return `:hourglass_flowing_sand: ${what} due in ${formatDuration(standing.remainingMs)}`;
    case "ok":
      return `${what} due in ${formatDuration(standing.remainingMs)}`;
  }
}

function stateText(row: LiveException, viewerId: string): string {
  if (row.state === "retrying") return "retry queued";
  if (!row.claimedBy) return "unclaimed";
  return row.claimedBy === viewerId ? "held by you" : `held by ${mention(row.claimedBy)}`;
}

function button(text: string, actionId: string, value: string, primary = false): object {
  return {
    type: "button",
    text: { type: "plain_text", text },
    action_id: actionId,
    value,
    ...(primary ? { style: "primary" } : {}),
  };
}

/** The buttons the card would offer this viewer (the listeners still check who may act). */
export function itemButtons(row: LiveException, viewerId: string): object[] {
  const value = String(row.id);
  const buttons: object[] = [];
  if (!row.claimedBy) buttons.push(button("Claim", ACTIONS.claim, value, true));
  else if (row.claimedBy === viewerId) buttons.push(button("Unclaim", ACTIONS.unclaim, value));
  if (row.canRetry && row.state !== "retrying") buttons.push(button("Retry", ACTIONS.retry, value));
  buttons.push(button("Resolve…", ACTIONS.resolve, value));
  return buttons;
}

/** Two blocks: what and how urgent, then the buttons. `list` keeps block ids unique per view. */
export function itemBlocks(
  item: QueueItem,
  viewerId: string,
  link: Linker,
  list: string,
): object[] {
  const { row, standing } = item;
  const icon = SEVERITY_ICON[row.severity] ?? SEVERITY_ICON.normal;
  const label = `EX-${row.id}`;
  const url = link(row.channel, row.cardTs);
  const title = url ? mrkdwnLink(url, label) : label;
  const what = `${safeText(row.client, 200)} · ${safeText(row.sku, 200)} → ${safeText(row.targetSystem, 200)} (${safeText(row.failureMode, 50)})`;
  return [
    section(
      `${icon} *${title}* ${what}\n${slaText(standing)} · ${stateText(row, viewerId)} · ${safeText(row.role, 100)}`,
    ),
    {
      type: "actions",
      block_id: truncate(`${list}-${row.id}`, 255),
      elements: itemButtons(row, viewerId),
    },
  ];
}

/** Up to `max` items as blocks, and a line saying how many were left out. */
export function itemList(
  items: QueueItem[],
  viewerId: string,
  link: Linker,
  list: string,
  max: number,
  more: string,
): object[] {
  const blocks = items.slice(0, max).flatMap((item) => itemBlocks(item, viewerId, link, list));
  if (items.length > max) blocks.push(context(`…and ${items.length - max} more. ${more}`));
  return blocks;
}

export interface MineReport {
  userId: string;
  roles: string[];
  held: QueueItem[];
  /** Unresolved in the user's roles, not held by them, breached or due soon. */
  atRisk: QueueItem[];
}

const MINE_MAX = 10;

export function renderMine(report: MineReport, link: Linker): Message {
  const blocks: object[] = [
    section(
      report.held.length
        ? `*You hold ${report.held.length}*`
        : "*You hold nothing.* Claim a card in your role's channel, or one below.",
    ),
    ...itemList(report.held, report.userId, link, "mine-held", MINE_MAX, "See your Home tab."),
  ];
  if (report.roles.length === 0) {
    blocks.push(context("You are not a member or manager of any role in the routing file."));
  } else {
    blocks.push(
      section(
        report.atRisk.length
          ? `*About to breach in ${report.roles.map((r) => safeText(r, 100)).join(", ")}: ${report.atRisk.length}*`
          : `:white_check_mark: Nothing in ${report.roles.map((r) => safeText(r, 100)).join(", ")} is about to breach.`,
      ),
      ...itemList(
        report.atRisk,
        report.userId,
        link,
        "mine-risk",
        MINE_MAX,
        "See `/inventory status`.",
      ),
    );
  }
  const breached = report.held.filter((item) => item.standing.urgency === "breached").length;
  return {
    text: `You hold ${report.held.length} exception${report.held.length === 1 ? "" : "s"}${breached ? ` (${breached} breached)` : ""}; ${report.atRisk.length} about to breach in your roles.`,
    blocks,
  };
}
