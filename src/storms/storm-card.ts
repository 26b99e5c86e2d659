/**
 * The storm card: a pure rendering of a storm and its members' figures into Block Kit. Member
 * text (SKUs, error messages) comes from producers and is escaped and cut here.
 */
import type { Card, ExceptionRow } from "../exceptions/card.js";
import { confirmDialog, ROOT_CAUSE_LABELS } from "../exceptions/card.js";
import type { storms } from "../platform/db/schema.js";
import { formatDuration } from "../platform/duration.js";
import { escapeMrkdwn, mention, safeText, slackDate, truncate } from "../platform/slack/mrkdwn.js";
import { stormLabel } from "./storm-key.js";

export type StormRow = typeof storms.$inferSelect;

export const STORM_ACTIONS = {
  claim: "storm.claim",
  retryAll: "storm.retry_all",
  resolveAll: "storm.resolve_all",
} as const;

/** What the members add up to, read from their rows when the card is drawn. */
export interface StormStats {
  members: number;
  /** Events in all: every member's occurrences. */
  events: number;
  open: number;
  claimed: number;
  retrying: number;
  resolved: number;
  /** Members Retry all could queue: a retry job given, not resolved, not retrying. */
  retryable: number;
  /** The queues those retries go to (what Retry all's confirmation names). */
  retryQueues: string[];
  firstSeenAt: Date | null;
  lastSeenAt: Date | null;
  topSkus: { sku: string; occurrences: number }[];
  samples: { message: string; members: number }[];
}

export function renderStormCard(storm: StormRow, stats: StormStats, windowMs: number): Card {
  const label = stormLabel(storm.id);
  const kind = `${storm.client} · ${storm.targetSystem} · ${storm.failureMode}`;
  const fields = [
    `*New failures (members)*\n${stats.members}`,
    `*Events in all*\n${stats.events}`,
    `*First seen*\n${stats.firstSeenAt ? slackDate(stats.firstSeenAt) : "—"}`,
    `*Last seen*\n${stats.lastSeenAt ? slackDate(stats.lastSeenAt) : "—"}`,
    `*Owner*\n${safeText(storm.role, 200)}`,
    `*Members by state*\n${stateCounts(stats)}`,
  ];
  const blocks: object[] = [
    {
      type: "header",
      text: { type: "plain_text", text: truncate(`🌀 Storm ${label} · ${kind}`, 150), emoji: true },
    },
    { type: "section", fields: fields.map((text) => ({ type: "mrkdwn", text })) },
  ];
  if (stats.topSkus.length) {
    const skus = stats.topSkus
      .map((top) => `\`${safeText(top.sku, 80)}\` ×${top.occurrences}`)
      .join("  ·  ");
    blocks.push({ type: "section", text: { type: "mrkdwn", text: `*Top SKUs*\n${skus}` } });
  }
  if (stats.samples.length) {
    const samples = stats.samples
      .map((s) => `• ${safeText(s.message || "(no message)", 400)} _(${s.members})_`)
      .join("\n");
    blocks.push({ type: "section", text: { type: "mrkdwn", text: `*Error samples*\n${samples}` } });
  }
  blocks.push({
    type: "context",
    elements: statusLines(storm, windowMs).map((line) => ({
      type: "mrkdwn",
      text: truncate(line, 3000),
    })),
  });
  const buttons = stormButtons(storm, stats);
  if (buttons.length)
    blocks.push({ type: "actions", block_id: "storm_actions", elements: buttons });

  const state = storm.state === "ended" ? "over" : "active";
  const text = `:cyclone: Storm ${label} (${state}): ${stats.members} new failures of ${escapeMrkdwn(storm.client)} → ${escapeMrkdwn(storm.targetSystem)} (${escapeMrkdwn(storm.failureMode)})`;
  return { text: truncate(text, 3000), blocks };
}

function stateCounts(stats: StormStats): string {
  return `open ${stats.open} · claimed ${stats.claimed} · retrying ${stats.retrying} · resolved ${stats.resolved}`;
}

export function statusLines(storm: StormRow, windowMs: number): string[] {
  const quiet = formatDuration(windowMs);
  const lines =
    storm.state === "ended"
      ? [
          `:white_check_mark: *Storm over* · ${slackDate(storm.endedAt ?? storm.updatedAt)} — no new failure of this kind for ${quiet}. New ones post their own cards again.`,
        ]
      : [
          `:cyclone: *Storm active* since ${slackDate(storm.formedAt)} — new failures of this kind are counted here instead of each posting a card. It ends after ${quiet} without a new one.`,
        ];
  if (storm.claimedBy) {
    lines.push(
      `:raising_hand: *Claimed* by ${mention(storm.claimedBy)}${storm.claimedAt ? ` · ${slackDate(storm.claimedAt)}` : ""}${storm.state === "open" ? " — new members go to them too" : ""}`,
    );
  }
  if (storm.resolvedBy) {
    const cause = storm.rootCause ? ROOT_CAUSE_LABELS[storm.rootCause] : "not given";
    const note = storm.resolutionNote ? ` · “${safeText(storm.resolutionNote, 1500)}”` : "";
    lines.push(
      `:white_check_mark: *Resolve all* by ${mention(storm.resolvedBy)}${storm.resolvedAt ? ` · ${slackDate(storm.resolvedAt)}` : ""} · Root cause: ${cause}${note}`,
    );
  }
  return lines;
}

function stormButtons(storm: StormRow, stats: StormStats): object[] {
  const value = String(storm.id);
  const unresolved = stats.members - stats.resolved;
  if (unresolved === 0) return [];
  const buttons: object[] = [];
  const label = stormLabel(storm.id);
  if (!storm.claimedBy)
    buttons.push({
      ...button("Claim storm", STORM_ACTIONS.claim, value, "primary"),
      confirm: confirmDialog({
        title: `Claim storm ${label}?`,
        text: `You will hold its ${plural(stats.open, "unclaimed member")}, and every new one while the storm lasts.`,
        confirm: "Claim storm",
      }),
    });
  if (stats.retryable > 0)
    buttons.push({
      ...button(`Retry all (${stats.retryable})`, STORM_ACTIONS.retryAll, value),
      confirm: confirmDialog({
        title: `Retry ${plural(stats.retryable, "member")}?`,
        text: `Queues one retry job for each of ${label}'s ${plural(stats.retryable, "member")} that can be retried, on ${queueList(stats.retryQueues)}.`,
        confirm: `Retry ${stats.retryable}`,
      }),
    });
  buttons.push({
    ...button(`Resolve all (${unresolved})…`, STORM_ACTIONS.resolveAll, value),
    confirm: confirmDialog({
      title: `Resolve ${plural(unresolved, "member")}?`,
      text: `Every unresolved member of ${label} (${plural(unresolved, "exception")}) will be resolved with one root cause and note, asked for next.`,
      confirm: `Resolve ${unresolved}…`,
    }),
  });
  return buttons;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

function queueList(queues: string[]): string {
  if (queues.length === 0) return "the producers' queues";
  const shown = queues.slice(0, 3).join(", ");
  return `${queues.length === 1 ? "queue" : "queues"} ${shown}${queues.length > 3 ? ` and ${queues.length - 3} more` : ""}`;
}

function button(text: string, actionId: string, value: string, style?: "primary"): object {
  return {
    type: "button",
    text: { type: "plain_text", text: truncate(text, 75) },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  };
}

/** The line a member's own card (one posted before the storm formed) gets: a card decorator. */
export function stormMemberLine(row: ExceptionRow): string[] | undefined {
  if (row.stormId === null) return undefined;
  return [
    `:cyclone: Part of storm ${stormLabel(row.stormId)}: the storm card counts it, and its buttons act on it too`,
  ];
}
