/**
 * Sends the Slack side of a fired SLA step, one message per job so each is retried on its own
 * (a manager whose DM failed does not make the others' repeat). Rendered from the row as it is
 * when sent: a nudge for an exception claimed a moment ago, or anything once it is resolved,
 * is dropped.
 */
import { eq } from "drizzle-orm";
import type { ExceptionRow } from "../exceptions/card.js";
import { exceptions } from "../platform/db/schema.js";
import type { Deps } from "../platform/deps.js";
import { assertNever } from "../platform/errors.js";
import type { JobData } from "../platform/queue/catalog.js";
import { policyFor } from "./exception-sla.js";
import { stepKey } from "./policy.js";
import {
  breachMessage,
  breachThreadNote,
  escalationsStoppedNote,
  type Message,
  nudgeText,
  reminderMessage,
} from "./sla-messages.js";

export type NoticeOutcome = "sent" | "not_fired" | "moot";

export async function deliverSlaNotice(
  deps: Deps,
  data: JobData<"sla.notice">,
): Promise<NoticeOutcome> {
  // FOR SHARE waits for the transaction that fired the step (and queued this job) to end.
  const row = await deps.db.transaction(async (tx) => {
    const [found] = await tx
      .select()
      .from(exceptions)
      .where(eq(exceptions.id, data.exceptionId))
      .for("share");
    return found;
  });
  if (!row || !(row.slaFired ?? []).includes(stepKey(data))) return "not_fired";
  if (row.state === "resolved") return "moot";
  const config = deps.routing.current().config;
  const policy = policyFor(config, row);
  const role = config.roles[row.role];
  const nowMs = deps.clock.now().getTime();

  switch (data.kind) {
    case "claim_nudge":
      if (row.claimedBy) return "moot";
      await postInThread(deps, row, nudgeText(row, role, policy, data));
      return "sent";
    case "claimer_reminder": {
      if (!row.claimedBy) return "moot";
      const message = reminderMessage(row, policy, nowMs, await permalinkOf(deps, row));
      await sendDm(deps, row.claimedBy, message);
      return "sent";
    }
    case "breach":
    case "escalation": {
      if (data.to === "thread") {
        const managers = role?.managers ?? [];
        const text =
          data.kind === "breach"
            ? breachThreadNote(row, policy, managers)
            : escalationsStoppedNote(row, policy);
        await postInThread(deps, row, text);
        return "sent";
      }
      const message = breachMessage(row, policy, {
        nowMs,
        escalation: data.kind === "breach" ? 0 : data.index,
        recipient: data.to,
        permalink: await permalinkOf(deps, row),
      });
      await sendDm(deps, data.to, message);
      return "sent";
    }
    default:
      return assertNever(data.kind);
  }
}

async function postInThread(deps: Deps, row: ExceptionRow, text: string): Promise<void> {
  // Thrown, so BullMQ retries until the card (itself retried by cards.sync) is posted.
  if (!row.cardTs) throw new Error(`card of exception ${row.id} is not posted yet`);
  await deps.slack.chat.postMessage({
    channel: row.channel,
    thread_ts: row.cardTs,
    text,
    unfurl_links: false,
  });
}

async function sendDm(deps: Deps, userId: string, message: Message): Promise<void> {
  const opened = await deps.slack.conversations.open({ users: userId });
  const channel = opened.channel?.id;
  if (!channel) throw new Error(`conversations.open gave no channel for ${userId}`);
  await deps.slack.chat.postMessage({
    channel,
    text: message.text,
    blocks: message.blocks as never,
    unfurl_links: false,
  });
}

/** A link to the card, or null: a DM without the link is better than no DM. */
async function permalinkOf(deps: Deps, row: ExceptionRow): Promise<string | null> {
  if (!row.cardTs) return null;
  try {
    const answer = await deps.slack.chat.getPermalink({
      channel: row.channel,
      message_ts: row.cardTs,
    });
    return answer.permalink ?? null;
  } catch (error) {
    deps.logger.warn({ exceptionId: row.id, err: error }, "could not get the card's permalink");
    return null;
  }
}
