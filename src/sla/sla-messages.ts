/**
 * What the SLA ladder says in Slack: the card's SLA line, claim nudges, the claimer's reminder,
 * the managers' breach DMs and the thread notes. Pure: rows, policy and `nowMs` in, mrkdwn and
 * Block Kit out. Every producer field is escaped here.
 */

import type { CardDecorator } from "../exceptions/card.js";
import { ACTIONS, button, type ExceptionRow, exceptionLabel } from "../exceptions/card.js";
import type { Clock } from "../platform/clock.js";
import { formatDuration } from "../platform/duration.js";
import { mention, mrkdwnLink, safeText, slackDate } from "../platform/slack/mrkdwn.js";
import type { RoutingSource } from "../routing/active-routing.js";
import type { RoleConfig, SlaPolicy } from "../routing/routing-file.schema.js";
import { policyFor } from "./exception-sla.js";
import { claimDeadline, overdueBy, resolveDeadline, type SlaStep } from "./policy.js";

export const SLA_ACTIONS = {
  /** "Claim for me" in a breach DM: claim, or take over from the current holder (managers). */
  take: "sla.take",
  /** The URL button to the card; Slack still sends the click, which is only acknowledged. */
  openCard: "sla.open_card",
} as const;

/** At most this many people are @-mentioned by one nudge when a role has no user group. */
const MAX_MENTIONS = 30;

export interface Message {
  text: string;
  blocks: object[];
}

/** The card decorator: one SLA line, computed from the active routing when the card renders. */
export function slaCardDecorator(deps: { routing: RoutingSource; clock: Clock }): CardDecorator {
  return (row) =>
    slaCardLines(row, policyFor(deps.routing.current().config, row), deps.clock.now().getTime());
}

export function slaCardLines(row: ExceptionRow, policy: SlaPolicy, nowMs: number): string[] {
  const clock = { openedAt: row.openedAt.getTime() };
  if (row.state === "resolved") {
    if (!row.breachedAt) return [":stopwatch: Resolved within its SLA"];
    const late = overdueBy(row.resolvedAt?.getTime() ?? nowMs, clock, policy);
    return [`:rotating_light: SLA breached · resolved ${formatDuration(late)} after the deadline`];
  }
  const resolveBy = new Date(resolveDeadline(clock, policy));
  if (row.breachedAt) {
    const overdue = formatDuration(overdueBy(nowMs, clock, policy));
    return [
      `:rotating_light: *SLA breached* · was due ${slackDate(resolveBy)} · overdue by ${overdue} (as of ${slackDate(new Date(nowMs), "{time}")}) · ${escalationState(row, policy)}`,
    ];
  }
  const parts = [":stopwatch: *SLA*"];
  if (!row.claimedBy) parts.push(`claim by ${slackDate(new Date(claimDeadline(clock, policy)))}`);
  parts.push(`resolve by ${slackDate(resolveBy)}`);
  if (policy.hours) parts.push(`clock runs ${policy.hours.text} (${policy.timezone})`);
  return [parts.join(" · ")];
}

function escalationState(row: ExceptionRow, policy: SlaPolicy): string {
  const pages = 1 + row.escalations;
  const paged = `managers paged ${pages}×`;
  if (row.escalations >= policy.maxEscalations) {
    return `${paged} · escalation stopped: no more reminders will be sent`;
  }
  return `${paged} · next reminder every ${formatDuration(policy.repeatMs)} (up to ${policy.maxEscalations} repeats)`;
}

/** Who a nudge speaks to: the role's user group, or its listed members. */
export function roleAudience(role: RoleConfig | undefined): string {
  if (!role) return "";
  if (role.usergroup) return `<!subteam^${role.usergroup}>`;
  const people = role.members.slice(0, MAX_MENTIONS).map(mention);
  return people.join(" ");
}

export function nudgeText(
  row: ExceptionRow,
  role: RoleConfig | undefined,
  policy: SlaPolicy,
  step: Pick<SlaStep, "index">,
): string {
  const fraction = policy.nudgeAt[step.index] ?? 1;
  const clock = { openedAt: row.openedAt.getTime() };
  const claimBy = slackDate(new Date(claimDeadline(clock, policy)));
  const who = roleAudience(role);
  const window = formatDuration(policy.claimMs);
  const situation =
    fraction >= 1
      ? `its ${window} claim window is over (claim by ${claimBy})`
      : `${Math.round(fraction * 100)}% of its ${window} claim window has passed; claim it by ${claimBy}`;
  return `:alarm_clock: ${who ? `${who} ` : ""}${exceptionLabel(row.id)} is still unclaimed: ${situation}. It must be resolved by ${slackDate(new Date(resolveDeadline(clock, policy)))}.`;
}

export function reminderMessage(
  row: ExceptionRow,
  policy: SlaPolicy,
  nowMs: number,
  permalink: string | null,
): Message {
  const due = resolveDeadline({ openedAt: row.openedAt.getTime() }, policy);
  const label = exceptionLabel(row.id);
  const left = formatDuration(Math.max(0, due - nowMs));
  const text = `:hourglass_flowing_sand: Reminder: you hold ${label} (${safeText(row.client, 200)} · ${safeText(row.sku, 200)}). It must be resolved by ${slackDate(new Date(due))}, ${left} from now.`;
  const buttons = [
    button("Resolve…", ACTIONS.resolve, String(row.id), "primary"),
    button("Reassign…", ACTIONS.reassign, String(row.id)),
  ];
  if (permalink) buttons.push(linkButton(permalink));
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `${text}\n${summary(row)}` } },
      { type: "actions", block_id: "sla_reminder", elements: buttons },
    ],
  };
}

export interface BreachContext {
  nowMs: number;
  /** 0 for the first breach DM, then the repeat number. */
  escalation: number;
  recipient: string;
  permalink: string | null;
}

export function breachMessage(row: ExceptionRow, policy: SlaPolicy, ctx: BreachContext): Message {
  const label = exceptionLabel(row.id);
  const clock = { openedAt: row.openedAt.getTime() };
  const overdue = formatDuration(overdueBy(ctx.nowMs, clock, policy));
  const which =
    ctx.escalation === 0
      ? "SLA breached"
      : `Still unresolved: reminder ${ctx.escalation} of ${policy.maxEscalations}`;
  const last =
    ctx.escalation >= policy.maxEscalations
      ? "\n_This is the last reminder syncdesk sends about it._"
      : "";
  const held = row.claimedBy ? mention(row.claimedBy) : "nobody";
  const lines = [
    `:rotating_light: *${which}: ${label}* (${safeText(row.role, 100)})`,
    summary(row),
    `*Held by:* ${held} · *Overdue by:* ${overdue} (was due ${slackDate(new Date(resolveDeadline(clock, policy)))}) · *Open for:* ${formatDuration(ctx.nowMs - row.openedAt.getTime())}`,
  ];
  if (ctx.permalink) lines.push(mrkdwnLink(ctx.permalink, "Open the card"));
  const buttons: object[] = [];
  if (row.claimedBy !== ctx.recipient) {
    buttons.push(button("Claim for me", SLA_ACTIONS.take, String(row.id), "primary"));
  }
  buttons.push(button("Reassign to a member…", ACTIONS.reassign, String(row.id)));
  if (ctx.permalink) buttons.push(linkButton(ctx.permalink));
  return {
    text: `${which}: ${label} · ${safeText(row.client, 200)} · ${safeText(row.sku, 200)} · overdue by ${overdue} · held by ${row.claimedBy ? held : "nobody"}`,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `${lines.join("\n")}${last}` } },
      { type: "actions", block_id: "sla_breach", elements: buttons },
    ],
  };
}

export function breachThreadNote(row: ExceptionRow, policy: SlaPolicy, managers: string[]) {
  const due = slackDate(new Date(resolveDeadline({ openedAt: row.openedAt.getTime() }, policy)));
  const paged =
    managers.length === 0
      ? `*${safeText(row.role, 100)}* has no managers to page.`
      : `Paged ${managers.length === 1 ? "the manager" : `${managers.length} managers`} of *${safeText(row.role, 100)}* by DM.`;
  return `:rotating_light: *SLA breached*: ${exceptionLabel(row.id)} was not resolved by ${due}. ${paged}`;
}

export function escalationsStoppedNote(row: ExceptionRow, policy: SlaPolicy): string {
  return `:no_bell: Reminder ${policy.maxEscalations} of ${policy.maxEscalations} sent: syncdesk will not page the managers about ${exceptionLabel(row.id)} again.`;
}

function summary(row: ExceptionRow): string {
  return [
    `*What:* ${safeText(row.failureMode, 100)} · ${safeText(row.sourceSystem, 200)} → ${safeText(row.targetSystem, 200)} (${safeText(row.severity, 20)})`,
    `*Client:* ${safeText(row.client, 200)} · *SKU:* ${safeText(row.sku, 200)}`,
  ].join("\n");
}

function linkButton(url: string): object {
  return {
    type: "button",
    text: { type: "plain_text", text: "Open card" },
    action_id: SLA_ACTIONS.openCard,
    url,
  };
}
