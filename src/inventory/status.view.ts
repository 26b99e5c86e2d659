/**
 * `/inventory status` as Block Kit: pure, from figures already read. Untrusted names (clients,
 * SKUs, targets) are escaped here; every text is cut to Slack's limits.
 */
import type { PipelineReport } from "../deliveries/pipeline-report.js";
import { freshnessBlocks } from "../deliveries/pipelines.view.js";
import {
  escapeMrkdwn,
  mrkdwnLink,
  safeText,
  slackDate,
  truncate,
} from "../platform/slack/mrkdwn.js";
import type { StatusArgs } from "./command-args.js";
import {
  breachRate,
  type CardRef,
  type DurationStats,
  dailySeries,
  type Failing,
  formatDuration,
  formatPercent,
  type LiveRole,
  type RejectedFigures,
  resolutionShares,
  sparkline,
  type WindowFigures,
} from "./figures.js";
import type { Linker } from "./links.js";

export interface StatusReport {
  args: StatusArgs;
  now: Date;
  /** The zone days are counted in (the role's). */
  timeZone?: string;
  live: LiveRole[];
  figures: WindowFigures;
  /** The figures were computed ahead, at this time (figure-snapshots.ts); absent: just now. */
  figuresAsOf?: Date;
  rejected: RejectedFigures;
  /** Pipelines over the last 24h, worst first (src/deliveries); absent: not shown. */
  freshness?: PipelineReport[];
}

export interface Message {
  text: string;
  blocks: object[];
}

const MAX_ROLES = 20;

export const section = (text: string): object => ({
  type: "section",
  text: { type: "mrkdwn", text: truncate(text, 3000) },
});
export const context = (...texts: string[]): object => ({
  type: "context",
  elements: texts.slice(0, 10).map((text) => ({ type: "mrkdwn", text: truncate(text, 3000) })),
});
const header = (text: string): object => ({
  type: "header",
  text: { type: "plain_text", text: truncate(text, 150), emoji: true },
});

export function scopeLabel(args: Pick<StatusArgs, "client" | "role" | "vertical">): string {
  const parts = [args.client, args.role, args.vertical && `vertical ${args.vertical}`].filter(
    (part): part is string => Boolean(part),
  );
  return parts.length ? parts.join(" · ") : "all clients and roles";
}

export function renderStatus(report: StatusReport, link: Linker): Message {
  const { args, figures } = report;
  const asOf = report.figuresAsOf ?? report.now;
  const blocks: object[] = [
    header(`Inventory sync · ${scopeLabel(args)} · last ${args.windowLabel}`),
    ...liveBlocks(report.live, link),
    ...(report.freshness ? freshnessBlocks(report.freshness, report.now) : []),
    { type: "divider" },
    ...figureBlocks(
      figures,
      args.windowLabel,
      asOf,
      args.windowMs,
      report.rejected,
      report.timeZone,
    ),
    context(
      `Figures cover exceptions opened since ${slackDate(new Date(asOf.getTime() - args.windowMs))}${report.figuresAsOf ? `, as of ${slackDate(asOf, "{time}")} (recomputed every minute)` : ""}. Medians and P95 interpolate; days are ${escapeMrkdwn(report.timeZone ?? "UTC")} days. Rejected events are counted for all clients.`,
    ),
  ];
  const open = report.live.reduce((sum, role) => sum + role.open + role.claimed + role.retrying, 0);
  const breached = report.live.reduce((sum, role) => sum + role.breached, 0);
  const text = `Inventory sync (${scopeLabel(args)}, last ${args.windowLabel}): ${open} unresolved, ${breached} breached; ${figures.opened} opened, breach rate ${formatPercent(breachRate(figures))}.`;
  return { text: safeText(text, 3000), blocks };
}

export function liveBlocks(live: LiveRole[], link: Linker): object[] {
  if (live.length === 0) {
    return [
      section("*Open now*\n:white_check_mark: Nothing open. Every sync failure is resolved."),
    ];
  }
  const blocks = live.slice(0, MAX_ROLES).map((role) => {
    const counts = `${role.open} open · ${role.claimed} claimed · ${role.retrying} retrying`;
    const breached = role.breached ? ` · :rotating_light: ${role.breached} breached` : "";
    const oldest = role.oldestUnclaimed
      ? `\nOldest unclaimed: ${cardLink(role.oldestUnclaimed, link)} since ${slackDate(role.oldestUnclaimed.openedAt)}`
      : "\nNothing waits for a claim.";
    return section(`*${safeText(role.role, 100)}*: ${counts}${breached}${oldest}`);
  });
  if (live.length > MAX_ROLES) blocks.push(context(`…and ${live.length - MAX_ROLES} more roles.`));
  return [section("*Open now*"), ...blocks];
}

export function cardLink(card: CardRef, link: Linker): string {
  const label = `EX-${card.id} ${card.client} ${card.sku}`;
  const url = link(card.channel, card.cardTs);
  return url ? mrkdwnLink(url, truncate(label, 120)) : safeText(label, 120);
}

function durationLine(name: string, stats: DurationStats): string {
  if (stats.count === 0) return `*${name}*\nnone yet`;
  return `*${name}*\nmedian ${formatDuration(stats.medianMs)} · P95 ${formatDuration(stats.p95Ms)} (${stats.count})`;
}

export function figureBlocks(
  figures: WindowFigures,
  windowLabel: string,
  now: Date,
  windowMs: number,
  rejected: RejectedFigures | null,
  timeZone = "UTC",
): object[] {
  const shares = resolutionShares(figures);
  const fields = [
    `*Opened*\n${figures.opened} in ${windowLabel}`,
    `*SLA breach rate*\n${formatPercent(breachRate(figures))} (${figures.breached} of ${figures.opened})`,
    durationLine("Time to claim", figures.toClaim),
    durationLine("Time to resolve", figures.toResolve),
    shares
      ? `*Resolved*\nby retry ${formatPercent(shares.byRetry)} · by recovery ${formatPercent(shares.byRecovery)} · by hand ${formatPercent(shares.byHand)}`
      : "*Resolved*\nnone yet",
  ];
  if (rejected) {
    fields.push(
      `*Rejected events*\n${rejected.total}${rejected.unreviewed ? ` (${rejected.unreviewed} not reviewed)` : ""}`,
    );
  }
  const days = dailySeries(figures.perDay, now, windowMs, timeZone);
  const counts = days.map((day) => day.opened);
  const recent = days
    .slice(-7)
    .map((day) => `${day.day.slice(5)}: ${day.opened}`)
    .join(" · ");
  return [
    {
      type: "section",
      fields: fields.map((text) => ({ type: "mrkdwn", text: truncate(text, 2000) })),
    },
    section(
      `*Opened per day* \`${sparkline(counts.slice(-60))}\` max ${Math.max(0, ...counts)}\n${recent}`,
    ),
    section(`*Top failing targets*\n${failingList(figures.topTargets)}`),
    section(`*Top failing SKUs*\n${failingList(figures.topSkus)}`),
  ];
}

function failingList(items: Failing[]): string {
  if (items.length === 0) return "none";
  return items
    .map(
      (item, i) =>
        `${i + 1}. ${safeText(item.name, 200)}: ${item.failures} failure${item.failures === 1 ? "" : "s"} in ${item.exceptions} exception${item.exceptions === 1 ? "" : "s"}`,
    )
    .join("\n");
}
