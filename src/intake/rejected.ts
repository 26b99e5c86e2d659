/**
 * Rejected events: a readable card in the default role's channel (what was wrong, field by
 * field) with a button to mark it reviewed, so bad producer data is seen and signed off.
 */

import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import { eq, sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { recordAudit } from "../audit/audit.js";
import { standingIn } from "../exceptions/authorization.js";
import { outsiderMessage } from "../exceptions/exceptions.messages.js";
import { tell } from "../exceptions/exceptions.slack.js";
import type { Db, Queryable } from "../platform/db/db.js";
import { rejectedEvents } from "../platform/db/schema.js";
import { escapeMrkdwn, safeText, slackDate } from "../platform/slack/mrkdwn.js";
import { queueMessage } from "../platform/slack/outbox-message.js";
import type { SubjectBinding, SubjectOf } from "../platform/slack/outbox-subjects.js";
import { rowIdValue } from "../platform/slack/values.js";

export type RejectedRow = typeof rejectedEvents.$inferSelect;
export const REVIEW_ACTION = "rejected.review";
const MAX_LISTED = 15;
/** Rejections of the outcome queue carry this before their job id (see outcome.service). */
export const OUTCOME_SOURCE_PREFIX = "outcome-";

export function renderRejectedCard(row: RejectedRow): { text: string; blocks: object[] } {
  const name = row.eventId ? `\`${safeText(row.eventId, 200)}\`` : "without an eventId";
  // Whole lines only, within the section's 3000 characters: a cut line could end mid-entity.
  const problems: string[] = [];
  let length = 0;
  for (const p of row.errors.slice(0, MAX_LISTED)) {
    const line = `• \`${safeText(p.path, 200)}\` ${safeText(p.message, 300)}`;
    if (length + line.length + 1 > 2900) break;
    problems.push(line);
    length += line.length + 1;
  }
  if (row.errors.length > problems.length)
    problems.push(`…and ${row.errors.length - problems.length} more`);
  // An outcome that breaks its contract is stored here too; say which contract it broke.
  const headline = row.sourceJobId.startsWith(OUTCOME_SOURCE_PREFIX)
    ? "*Rejected sync outcome*: it does not match the outcome contract (`kind: sync.succeeded`, `client`, `sku`, `targetSystem`, `occurredAt`), so nothing was resolved."
    : `*Rejected event* ${name}: it does not match the failure-event contract, so no exception was opened.`;
  const blocks: object[] = [
    {
      type: "section",
      text: {
        type: "mrkdwn",
        text: `:no_entry: ${headline} It is stored as received (rejection #${row.id}).`,
      },
    },
    {
      type: "section",
      text: { type: "mrkdwn", text: `*What was wrong*\n${problems.join("\n")}` },
    },
    {
      type: "context",
      elements: [
        {
          type: "mrkdwn",
          text: `Received ${slackDate(row.receivedAt)}${row.producer ? ` from producer \`${safeText(row.producer, 100)}\` (HTTP)` : ""}`,
        },
        { type: "mrkdwn", text: `Payload: \`${safeText(row.rawText, 500)}\`` },
      ],
    },
  ];
  if (row.reviewedBy && row.reviewedAt) {
    blocks.push({
      type: "context",
      elements: [
        {
          type: "mrkdwn",
          text: `:white_check_mark: Reviewed by <@${row.reviewedBy}> · ${slackDate(row.reviewedAt)}`,
        },
      ],
    });
  } else {
    blocks.push({
      type: "actions",
      block_id: "rejected_actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Mark reviewed" },
          action_id: REVIEW_ACTION,
          value: String(row.id),
        },
      ],
    });
  }
  return {
    text: `Rejected event ${row.eventId ? escapeMrkdwn(row.eventId) : "(no eventId)"}: ${row.errors.length} problem(s)`,
    blocks,
  };
}

const subjectOf = (id: number) => ({ type: "rejected_event", id }) as const;

/**
 * Queues the rejection card through the Slack outbox, inside the transaction that records the
 * rejection: it waits out a Slack outage, goes out once, and its channel and ts land on the
 * row (the "Mark reviewed" edit, in the same lane, finds it there).
 */
export async function queueRejectedCard(db: Queryable, row: RejectedRow): Promise<void> {
  if (!row.channel || row.cardTs) return;
  await queueMessage(db, {
    subject: subjectOf(row.id),
    channel: row.channel,
    dedupeKey: `rejected-${row.id}-card`,
    ...renderRejectedCard(row),
  });
}

/** The `rejections.post` job, still queued by earlier versions: queues the card (once). */
export async function queueRejectedCardFor(db: Queryable, rejectedId: number): Promise<void> {
  const [row] = await db.select().from(rejectedEvents).where(eq(rejectedEvents.id, rejectedId));
  if (row) await queueRejectedCard(db, row);
}

/** Where a rejection's card went, for the outbox relay. */
export function rejectedCardBinding(db: Db): SubjectBinding<SubjectOf<"rejected_event">> {
  return {
    async record(subject, at) {
      await db
        .update(rejectedEvents)
        .set({ channel: at.channel, cardTs: at.ts })
        .where(eq(rejectedEvents.id, subject.id));
    },
    async locate(subject) {
      const [row] = await db
        .select({ channel: rejectedEvents.channel, ts: rejectedEvents.cardTs })
        .from(rejectedEvents)
        .where(eq(rejectedEvents.id, subject.id));
      return row?.channel && row.ts ? { channel: row.channel, ts: row.ts } : undefined;
    },
  };
}

const idValue = rowIdValue;

export function registerRejectedListeners(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(REVIEW_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const id = idValue.safeParse(action.value);
    if (!id.success) return tell(respond, "That button is not one of mine. Nothing was changed.");
    const { config } = deps.routing.current();
    const { standing } = await standingIn(deps, config.defaultRole, body.user.id);
    if (standing === "outsider") {
      return tell(respond, outsiderMessage(config.defaultRole, "review rejected events", false));
    }
    const now = deps.clock.now();
    const reviewed = await deps.db.transaction(async (tx) => {
      const [row] = await tx
        .update(rejectedEvents)
        .set({ reviewedBy: body.user.id, reviewedAt: now })
        .where(sql`${rejectedEvents.id} = ${id.data} and ${rejectedEvents.reviewedBy} is null`)
        .returning();
      if (row) {
        await recordAudit(tx, {
          rejectedEventId: row.id,
          actor: body.user.id,
          source: "slack",
          action: "rejection_reviewed",
          at: now,
        });
        // The card says so: an edit in the card's lane, so it follows the post even if
        // that is still waiting for Slack.
        if (row.channel) {
          await queueMessage(tx, {
            subject: subjectOf(row.id),
            mode: "edit",
            dedupeKey: `rejected-${row.id}-reviewed`,
            ...renderRejectedCard(row),
          });
        }
      }
      return row;
    });
    if (!reviewed)
      return tell(respond, "That rejected event was already reviewed. Nothing was changed.");
  });
}
