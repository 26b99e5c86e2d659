/**
 * Rejected events: a readable card in the default role's channel (what was wrong, field by
 * field) with a button to mark it reviewed, so bad producer data is seen and signed off.
 */

import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import { eq, sql } from "drizzle-orm";
import { recordAudit } from "../audit/audit.js";
import { standingIn } from "../exceptions/authorization.js";
import { tell } from "../exceptions/exceptions.slack.js";
import { rejectedEvents } from "../platform/db/schema.js";
import type { Deps } from "../platform/deps.js";
import { escapeMrkdwn, safeText, slackDate } from "../platform/slack/mrkdwn.js";
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
        { type: "mrkdwn", text: `Received ${slackDate(row.receivedAt)}` },
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

/** Posts the rejection card once, however often the job carrying the event is delivered. */
export async function postRejectedCard(deps: Deps, rejectedId: number): Promise<void> {
  await deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(43, ${rejectedId}::int)`);
    const [row] = await tx.select().from(rejectedEvents).where(eq(rejectedEvents.id, rejectedId));
    if (!row?.channel || row.cardTs) return;
    const card = renderRejectedCard(row);
    const posted = await deps.slack.chat.postMessage({
      channel: row.channel,
      text: card.text,
      blocks: card.blocks as never,
    });
    await tx
      .update(rejectedEvents)
      .set({ cardTs: posted.ts ?? null })
      .where(eq(rejectedEvents.id, row.id));
  });
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
      return tell(
        respond,
        `Only members of *${escapeMrkdwn(config.defaultRole)}* and its managers can review rejected events.`,
      );
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
      }
      return row;
    });
    if (!reviewed)
      return tell(respond, "That rejected event was already reviewed. Nothing was changed.");
    if (reviewed.channel && reviewed.cardTs) {
      const card = renderRejectedCard(reviewed);
      await deps.slack.chat.update({
        channel: reviewed.channel,
        ts: reviewed.cardTs,
        text: card.text,
        blocks: card.blocks as never,
      });
    }
  });
}
