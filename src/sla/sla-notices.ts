/**
 * The Slack side of a fired SLA step: nudges and notes in the card's thread, DMs to the holder
 * and the managers, and the card refresh. All are queued in the Slack outbox inside the
 * transaction that records the step, so they go out only if the step is committed, once each
 * (a dedupe key per step and recipient), in order with the card they refer to, and paced like
 * every other Slack call.
 */

import type { Deps } from "../app/deps.js";
import type { ExceptionRow } from "../exceptions/card.js";
import { queueCardSync, queueThreadNote } from "../exceptions/cards.js";
import type { Queryable } from "../platform/db/db.js";
import { assertNever } from "../platform/errors.js";
import { queueDirectMessage } from "../platform/slack/outbox-message.js";
import type { RoleConfig, SlaPolicy } from "../routing/routing-file.schema.js";
import { type SlaStep, stepKey } from "./policy.js";
import {
  breachMessage,
  breachThreadNote,
  escalationsStoppedNote,
  type Message,
  nudgeText,
  reminderMessage,
} from "./sla-messages.js";

/** A card-thread reply; any other recipient is a user ID (a DM). */
export const THREAD = "thread";

export interface NoticeContext {
  policy: SlaPolicy;
  role: RoleConfig | undefined;
  nowMs: number;
  permalink: string | null;
}

/**
 * Who hears of a step: the card's thread, the holder, each manager of the role. A storm member
 * without a card of its own has no thread (its storm's card speaks for it).
 */
export function noticeRecipients(
  step: SlaStep,
  row: Pick<ExceptionRow, "claimedBy" | "stormId" | "cardTs">,
  role: RoleConfig | undefined,
  policy: SlaPolicy,
): string[] {
  const hasThread = row.stormId === null || row.cardTs !== null;
  return everyone(step, row, role, policy).filter((to) => to !== THREAD || hasThread);
}

function everyone(
  step: SlaStep,
  row: Pick<ExceptionRow, "claimedBy">,
  role: RoleConfig | undefined,
  policy: SlaPolicy,
): string[] {
  const managers = role?.managers ?? [];
  switch (step.kind) {
    case "claim_nudge":
      return [THREAD];
    case "claimer_reminder":
      return row.claimedBy ? [row.claimedBy] : [];
    case "breach":
      return [THREAD, ...managers];
    case "escalation":
      return step.index >= policy.maxEscalations ? [...managers, THREAD] : [...managers];
    default:
      return assertNever(step.kind);
  }
}

const STORM_PAGE_NOTE =
  "Part of a storm: you get one page per storm and step; the storm card lists every member.";

/** A storm member without a card of its own is paged for through its storm. */
function pagedForStorm(row: Pick<ExceptionRow, "stormId" | "cardTs">): boolean {
  return row.stormId !== null && row.cardTs === null;
}

/**
 * The outbox dedupe key of a notice. A storm of 1,800 members breaching together must not send
 * each manager 1,800 DMs: DMs for cardless members share one key per storm and step, so the
 * first one queued goes out and the rest are absorbed by the outbox's unique key.
 */
export function noticeKey(
  row: Pick<ExceptionRow, "id" | "stormId" | "cardTs">,
  step: Pick<SlaStep, "kind" | "index">,
  to: string,
): string {
  if (to !== THREAD && pagedForStorm(row)) return `sla-storm-${row.stormId}-${stepKey(step)}-${to}`;
  return `sla-${row.id}-${stepKey(step)}-${to}`;
}

/**
 * Queues what `recipients` should hear of `step`, rendered from the row as the step leaves it
 * (breached, escalated). Use inside the transaction that records the step.
 */
export async function queueNotices(
  tx: Queryable,
  row: ExceptionRow,
  step: SlaStep,
  recipients: string[],
  ctx: NoticeContext,
): Promise<void> {
  for (const to of recipients) {
    if (to === THREAD) {
      await queueThreadNote(tx, row, threadText(row, step, ctx), noticeKey(row, step, to));
      continue;
    }
    const { text, blocks } = directMessage(row, step, to, ctx);
    const stormLine = pagedForStorm(row)
      ? [{ type: "context", elements: [{ type: "mrkdwn", text: STORM_PAGE_NOTE }] }]
      : [];
    await queueDirectMessage(tx, {
      user: to,
      dedupeKey: noticeKey(row, step, to),
      text: pagedForStorm(row) ? `${STORM_PAGE_NOTE} ${text}` : text,
      blocks: [...stormLine, ...blocks] as Record<string, unknown>[],
    });
  }
  // The card shows the breach and, later, how many times managers were paged.
  if (step.kind === "breach" || step.kind === "escalation") await queueCardSync(tx, row.id);
}

function threadText(row: ExceptionRow, step: SlaStep, ctx: NoticeContext): string {
  switch (step.kind) {
    case "claim_nudge":
      return nudgeText(row, ctx.role, ctx.policy, step);
    case "breach":
      return breachThreadNote(row, ctx.policy, ctx.role?.managers ?? []);
    case "escalation":
      return escalationsStoppedNote(row, ctx.policy);
    case "claimer_reminder":
      throw new Error("a claimer reminder is a DM, not a thread note");
    default:
      return assertNever(step.kind);
  }
}

function directMessage(row: ExceptionRow, step: SlaStep, to: string, ctx: NoticeContext): Message {
  switch (step.kind) {
    case "claimer_reminder":
      return reminderMessage(row, ctx.policy, ctx.nowMs, ctx.permalink);
    case "breach":
    case "escalation":
      return breachMessage(row, ctx.policy, {
        nowMs: ctx.nowMs,
        escalation: step.kind === "breach" ? 0 : step.index,
        recipient: to,
        permalink: ctx.permalink,
      });
    case "claim_nudge":
      throw new Error("a claim nudge is a thread note, not a DM");
    default:
      return assertNever(step.kind);
  }
}

const PERMALINK_TIMEOUT_MS = 2000;

/**
 * A link to the card for DMs, fetched before the step's transaction (no Slack call while a
 * row is locked). Null when the card is not posted yet or Slack is slow: a DM without the link
 * is better than a late DM.
 */
export async function cardPermalink(
  deps: Pick<Deps, "slack" | "logger">,
  row: Pick<ExceptionRow, "id" | "channel" | "cardTs">,
): Promise<string | null> {
  if (!row.cardTs) return null;
  const lookup = deps.slack.chat
    .getPermalink({ channel: row.channel, message_ts: row.cardTs })
    .then((answer) => answer.permalink ?? null)
    .catch((error: unknown) => {
      deps.logger.warn({ exceptionId: row.id, err: error }, "could not get the card's permalink");
      return null;
    });
  const timeout = new Promise<null>((resolve) =>
    setTimeout(resolve, PERMALINK_TIMEOUT_MS, null).unref(),
  );
  return Promise.race([lookup, timeout]);
}
