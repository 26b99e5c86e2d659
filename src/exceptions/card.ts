/**
 * The exception card: a pure rendering of one exception row into Block Kit. Every producer
 * field is escaped and cut to Slack's limits here, so nothing upstream has to remember to.
 */

import type { FailureEvent } from "../platform/contracts/failure-event.schema.js";
import type { ExceptionRow, RootCause } from "../platform/db/schema.js";
import { assertNever } from "../platform/errors.js";
import {
  escapeMrkdwn,
  mention,
  mrkdwnLink,
  safeText,
  slackDate,
  truncate,
} from "../platform/slack/mrkdwn.js";
import { gateDetailOf, gateLines } from "./gate-detail.js";

export type { ExceptionRow };

export const ACTIONS = {
  claim: "exception.claim",
  unclaim: "exception.unclaim",
  retry: "exception.retry",
  resolve: "exception.resolve",
  reassign: "exception.reassign",
  republish: "exception.republish",
} as const;

export const ROOT_CAUSE_LABELS: Record<RootCause, string> = {
  source_data: "Source data",
  target_outage: "Target outage or throttling",
  mapping_schema: "Mapping or schema",
  pipeline_bug: "Pipeline bug",
  other: "Other",
};

const SEVERITY_ICON: Record<string, string> = {
  low: ":white_circle:",
  normal: ":large_blue_circle:",
  high: ":large_orange_circle:",
  critical: ":red_circle:",
};

export function exceptionLabel(id: number): string {
  return `EX-${id}`;
}

/** Lines one other feature adds to every card (the SLA line, storm membership). */
export type CardDecorator = (row: ExceptionRow) => string[] | undefined;

/** Lines other features add to a card (the SLA line, storm membership). */
export interface CardExtras {
  context?: string[];
  /**
   * The client's source of truth for the card's target system (routing `clients`); null when
   * the routing declares none, undefined when the caller does not know.
   */
  sourceOfTruth?: string | null;
}

export interface Card {
  text: string;
  blocks: object[];
}

export function renderCard(row: ExceptionRow, extras: CardExtras = {}): Card {
  const event = row.latestEvent;
  const severity = row.severity.toUpperCase();
  const icon = SEVERITY_ICON[row.severity] ?? SEVERITY_ICON.normal;
  const gate = gateDetailOf(event);
  // A stale or over-budget gate is about a whole pipeline, not one SKU: its card says which.
  const pipeline = gate && gate.kind !== "late" ? gate.pipeline : null;
  const subject = pipeline === null ? row.sku : `pipeline ${pipeline}`;
  const title = `${exceptionLabel(row.id)} · ${severity} · ${row.client} · ${subject}`;
  const fields = [
    field("Client", row.vertical ? `${row.client} (${row.vertical})` : row.client),
    pipeline === null ? field("SKU", row.sku) : field("Pipeline", pipeline),
    // Section fields stop at 10: the source of truth shares the systems' field.
    field(
      "Source → target",
      extras.sourceOfTruth === undefined
        ? `${row.sourceSystem} → ${row.targetSystem}`
        : `${row.sourceSystem} → ${row.targetSystem}\nsource of truth: ${extras.sourceOfTruth ?? "none declared"}`,
    ),
    field("Failure mode", `${row.failureMode} · ${row.operation}`),
    `*Attempts*\n${event.attempts} automatic${row.retryCount ? `, ${row.retryCount} from Slack` : ""}`,
    `*Occurrences*\n${row.occurrences}`,
    `*First seen*\n${slackDate(row.firstSeenAt)}`,
    `*Last seen*\n${slackDate(row.lastSeenAt)}`,
    field("Owner", `${row.role} (rule ${row.ruleIndex + 1})`),
  ];
  const stock = stockLine(event.quantity);
  if (stock) fields.push(`*Stock*\n${stock}`);

  // The state (open, claimed, retrying, resolved, and the SLA's word: breached…) right under
  // the header, in full-size text: it is what a reader looks for first.
  const state = [
    ...statusLines(row),
    ...truthWarning(row, extras.sourceOfTruth),
    ...(extras.context ?? []),
  ].slice(0, 10);
  const stateLines: string[] = [];
  let stateLength = 0;
  for (const line of state) {
    const shown = truncate(line, 1000);
    if (stateLength + shown.length + 1 > 2900) break;
    stateLines.push(shown);
    stateLength += shown.length + 1;
  }
  const blocks: object[] = [
    { type: "header", text: { type: "plain_text", text: truncate(`${title}`, 150), emoji: true } },
    {
      type: "section",
      block_id: "exception_state",
      text: { type: "mrkdwn", text: stateLines.join("\n") },
    },
    // Section fields are text objects; Slack answers invalid_blocks to bare strings.
    { type: "section", fields: fields.map((text) => ({ type: "mrkdwn", text })) },
    { type: "section", text: { type: "mrkdwn", text: errorText(event) } },
  ];
  // A latency gate's exception: when the delivery was expected and how overdue it was.
  if (gate) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: truncate(gateLines(gate).join("\n"), 3000) },
    });
  }
  if (event.links?.length) {
    blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: linksLine(event.links) }] });
  }
  const buttons = actionButtons(row, event, extras.sourceOfTruth ?? null);
  if (buttons.length)
    blocks.push({ type: "actions", block_id: "exception_actions", elements: buttons });

  const text = `${icon} ${severity} ${escapeMrkdwn(row.client)} ${escapeMrkdwn(subject)} → ${escapeMrkdwn(row.targetSystem)}: ${row.failureMode} (${stateWord(row)})`;
  return { text: truncate(text, 3000), blocks };
}

/** An event that came from a system other than the source of truth for its target. */
function truthWarning(row: ExceptionRow, truth: string | null | undefined): string[] {
  if (!truth || row.sourceSystem === truth) return [];
  return [
    `:warning: Came from ${escapeMrkdwn(row.sourceSystem)}, not the source of truth for ${escapeMrkdwn(row.targetSystem)} (${escapeMrkdwn(truth)}): check which figure should win before retrying`,
  ];
}

function field(label: string, value: string): string {
  return `*${label}*\n${safeText(value, 1900)}`;
}

function stockLine(quantity: FailureEvent["quantity"]): string | null {
  if (!quantity || (quantity.expected === undefined && quantity.observed === undefined))
    return null;
  const parts = [];
  if (quantity.expected !== undefined) parts.push(`expected ${quantity.expected}`);
  if (quantity.observed !== undefined) parts.push(`observed ${quantity.observed}`);
  if (quantity.expected !== undefined && quantity.observed !== undefined) {
    const drift = quantity.observed - quantity.expected;
    parts.push(`drift ${drift > 0 ? "+" : ""}${drift}`);
  }
  return parts.join(" · ");
}

const LINK_SEPARATOR = "  ·  ";

/** Whole links only: cutting the joined text could leave half a `<url|label>` behind. */
function linksLine(links: NonNullable<FailureEvent["links"]>): string {
  const shown: string[] = [];
  let length = 0;
  for (const link of links) {
    const part = mrkdwnLink(link.url, truncate(link.label, 80));
    const added = (shown.length ? LINK_SEPARATOR.length : 0) + part.length;
    if (length + added > 2900) break;
    shown.push(part);
    length += added;
  }
  const hidden = links.length - shown.length;
  if (hidden > 0) shown.push(`${hidden} more link${hidden === 1 ? "" : "s"} not shown`);
  return shown.join(LINK_SEPARATOR);
}

function errorText(event: FailureEvent): string {
  const meta = [
    event.error.httpStatus ? `HTTP ${event.error.httpStatus}` : null,
    event.error.code ? `code ${safeText(event.error.code, 100)}` : null,
    event.traceId ? `trace ${safeText(event.traceId, 100)}` : null,
  ].filter(Boolean);
  // No two backticks touch, so nothing in the message can close the code block (a run of
  // four would still hold a ``` after breaking triples). Done before cutting: after, the
  // added characters would push the text past Slack's limit.
  const message = safeText(
    (event.error.message || "(no message)").replace(/`(?=`)/g, "`\u200b"),
    2500,
  );
  return `*Error*${meta.length ? ` (${meta.join(", ")})` : ""}\n\`\`\`${message}\`\`\``;
}

function stateWord(row: ExceptionRow): string {
  switch (row.state) {
    case "open":
      return "open";
    case "claimed":
      return "claimed";
    case "retrying":
      return `retry #${row.retryCount} queued`;
    case "resolved":
      return "resolved";
    default:
      return assertNever(row.state);
  }
}

export function statusLines(row: ExceptionRow): string[] {
  const lines: string[] = [];
  switch (row.state) {
    case "open":
      lines.push(":large_yellow_circle: *Open* — nobody has claimed this yet");
      break;
    case "claimed":
      lines.push(
        `:raising_hand: *Claimed* by ${mention(row.claimedBy ?? "")} · ${slackDate(row.claimedAt ?? row.updatedAt)}`,
      );
      break;
    case "retrying":
      lines.push(
        `:arrows_counterclockwise: *Retry #${row.retryCount} queued* by ${mention(row.retryRequestedBy ?? "")}${row.claimedBy ? ` · held by ${mention(row.claimedBy)}` : ""}`,
      );
      break;
    case "resolved":
      lines.push(resolvedLine(row));
      break;
    default:
      assertNever(row.state);
  }
  if (row.state !== "resolved" && row.state !== "retrying" && row.lastRetryError) {
    lines.push(`:warning: Retry #${row.retryCount} failed: ${safeText(row.lastRetryError, 500)}`);
  }
  if (row.reopenOf)
    lines.push(`:repeat: Reopened: ${exceptionLabel(row.reopenOf)} had been resolved`);
  return lines;
}

const GATE_NAMES = { late: "late-delivery", stale: "stale-pipeline", over_budget: "over-budget" };

function resolvedLine(row: ExceptionRow): string {
  const when = row.resolvedAt ? ` · ${slackDate(row.resolvedAt)}` : "";
  switch (row.resolution) {
    case "retry":
      return `:white_check_mark: *Resolved* by retry #${row.retryCount} (queued by ${mention(row.retryRequestedBy ?? "")})${when}`;
    case "recovered": {
      const gate = gateDetailOf(row.latestEvent);
      return gate
        ? `:white_check_mark: *Resolved* — recovered: the ${GATE_NAMES[gate.kind]} gate cleared itself (the thread says why)${when}`
        : `:white_check_mark: *Resolved* — recovered: a later sync of this SKU to ${escapeMrkdwn(row.targetSystem)} succeeded${when}`;
    }
    default: {
      const cause = row.rootCause ? ROOT_CAUSE_LABELS[row.rootCause] : "not given";
      const note = row.resolutionNote ? ` · “${safeText(row.resolutionNote, 1500)}”` : "";
      return `:white_check_mark: *Resolved* by ${mention(row.resolvedBy ?? "")}${when} · Root cause: ${cause}${note}`;
    }
  }
}

function actionButtons(row: ExceptionRow, event: FailureEvent, truth: string | null): object[] {
  if (row.state === "resolved") return [];
  const value = String(row.id);
  const buttons: object[] = [];
  if (row.claimedBy) buttons.push(button("Unclaim", ACTIONS.unclaim, value));
  else buttons.push(button("Claim", ACTIONS.claim, value, "primary"));
  if (event.retry && row.state !== "retrying")
    buttons.push({
      ...button("Retry", ACTIONS.retry, value),
      confirm: confirmDialog({
        title: `Retry ${exceptionLabel(row.id)}?`,
        text: `Adds job "${event.retry.name}" to queue ${event.retry.queue} for ${row.sku}; the card follows its result.`,
        confirm: "Queue retry",
      }),
    });
  // A partial write's compensation: the producer's job with the source of truth's figure.
  if (event.retry && truth && row.failureMode === "partial_write")
    buttons.push({
      ...button("Re-publish from source of truth", ACTIONS.republish, value),
      confirm: confirmDialog({
        title: `Re-publish ${exceptionLabel(row.id)}?`,
        text: `Adds job "${event.retry.name}" to queue ${event.retry.queue} for ${row.sku} with the quantity ${truth}'s latest snapshot holds.`,
        confirm: "Re-publish",
      }),
    });
  buttons.push(button("Resolve…", ACTIONS.resolve, value));
  // Shown to everyone (a card is shared); the handler lets only the holder or a manager use it.
  if (row.claimedBy) buttons.push(button("Reassign…", ACTIONS.reassign, value));
  return buttons;
}

/**
 * Slack's "Are you sure?" for a button that acts at once (a retry job, many members). Plain
 * text throughout: queue names and SKUs come from producers and must not be read as mrkdwn.
 */
export function confirmDialog(input: { title: string; text: string; confirm: string }): object {
  return {
    title: { type: "plain_text", text: truncate(input.title, 100) },
    text: { type: "plain_text", text: truncate(input.text, 300) },
    confirm: { type: "plain_text", text: truncate(input.confirm, 30) },
    deny: { type: "plain_text", text: "Cancel" },
  };
}

export function button(
  text: string,
  actionId: string,
  value: string,
  style?: "primary" | "danger",
): object {
  return {
    type: "button",
    text: { type: "plain_text", text },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  };
}
