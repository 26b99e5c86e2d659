/**
 * Rejected events in Slack: the grouped card (src/intake/rejection-groups.ts) and its
 * "Mark reviewed" button, which signs off every event of the group. Cards of one event each,
 * posted by earlier releases, still answer their button: they are redrawn with the same
 * renderer, as a group of one.
 */

import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { recordAudit } from "../audit/audit.js";
import { standingIn } from "../exceptions/authorization.js";
import { outsiderMessage } from "../exceptions/exceptions.messages.js";
import { tell } from "../exceptions/exceptions.slack.js";
import type { Db, Queryable } from "../platform/db/db.js";
import { rejectedEvents, rejectionGroups } from "../platform/db/schema.js";
import { queueMessage } from "../platform/slack/outbox-message.js";
import type { SubjectBinding, SubjectOf } from "../platform/slack/outbox-subjects.js";
import { rowIdValue } from "../platform/slack/values.js";
import {
  REVIEW_GROUP_ACTION,
  type RejectionGroupView,
  renderRejectionGroupCard,
} from "./rejection-card.js";
import {
  claimedSourceSystem,
  findRejectionGroup,
  noteRejection,
  problemKey,
  problemLines,
  queueRejectionCard,
  rejectionTargetOf,
} from "./rejection-groups.js";

export type RejectedRow = typeof rejectedEvents.$inferSelect;
/** The button of the one-event cards of earlier releases. */
export const REVIEW_ACTION = "rejected.review";
/** Rejections of the outcome queue carry this before their job id (see outcome.service). */
export const OUTCOME_SOURCE_PREFIX = "outcome-";

function claimedSourceSystemOf(rawText: string): string | undefined {
  try {
    return claimedSourceSystem(JSON.parse(rawText));
  } catch {
    return undefined;
  }
}

/** A one-event card of an earlier release, drawn as a group of one. */
export function singleRejectionView(row: RejectedRow): RejectionGroupView {
  const sourceSystem = claimedSourceSystemOf(row.rawText);
  return {
    id: row.id,
    kind: row.sourceJobId.startsWith(OUTCOME_SOURCE_PREFIX) ? "outcome" : "failure",
    producer: row.producer ?? sourceSystem ?? "unknown producer",
    role: "",
    count: 1,
    firstSeenAt: row.receivedAt,
    lastSeenAt: row.receivedAt,
    sample: row.rawText,
    details: problemLines(row.errors),
    reviewedBy: row.reviewedBy,
    reviewedAt: row.reviewedAt,
  };
}

/**
 * The `rejections.post` job, still queued by earlier versions: counts the rejection on its
 * group (once) instead of a card of its own.
 */
export async function queueRejectedCardFor(
  deps: Pick<Deps, "db" | "routing">,
  rejectedId: number,
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(rejectedEvents)
      .where(eq(rejectedEvents.id, rejectedId))
      .for("update");
    if (!row || row.groupId !== null || row.cardTs) return;
    const view = singleRejectionView(row);
    const groupId = await noteRejection(tx, rejectionTargetOf(deps.routing.current().config), {
      kind: view.kind,
      who: {
        ...(row.producer ? { producer: row.producer } : {}),
        sourceSystem: claimedSourceSystemOf(row.rawText),
      },
      problem: problemKey(row.errors),
      details: view.details,
      sample: row.rawText,
      count: 1,
      rejectedId: row.id,
      at: row.receivedAt,
    });
    await tx.update(rejectedEvents).set({ groupId }).where(eq(rejectedEvents.id, row.id));
  });
}

/** Where a one-event card of an earlier release went, for the outbox relay. */
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

/** Marks a group and every event in it reviewed; false when someone already did. */
async function reviewGroup(
  db: Queryable & Pick<Db, "transaction">,
  groupId: number,
  userId: string,
  now: Date,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [group] = await tx
      .update(rejectionGroups)
      .set({ reviewedBy: userId, reviewedAt: now })
      .where(and(eq(rejectionGroups.id, groupId), isNull(rejectionGroups.reviewedAt)))
      .returning();
    if (!group) return false;
    await tx
      .update(rejectedEvents)
      .set({ reviewedBy: userId, reviewedAt: now })
      .where(and(eq(rejectedEvents.groupId, groupId), isNull(rejectedEvents.reviewedBy)));
    await recordAudit(tx, {
      rejectedEventId: group.lastRejectedId,
      actor: userId,
      source: "slack",
      action: "rejections_reviewed",
      note: `${group.count} rejected from ${group.producer}: ${group.problem}`.slice(0, 1000),
      expectedOutcome: `${group.producer} fixes what it sends; new rejections start a new card`,
      details: { groupId, kind: group.kind, producer: group.producer, count: group.count },
      at: now,
    });
    await queueRejectionCard(tx, group.id, group.channel);
    return true;
  });
}

export function registerRejectedListeners(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(
    REVIEW_GROUP_ACTION,
    async ({ ack, body, action, respond }) => {
      await ack();
      const id = rowIdValue.safeParse(action.value);
      if (!id.success) return tell(respond, "That button is not one of mine. Nothing was changed.");
      const group = await findRejectionGroup(deps.db, id.data);
      if (!group) return tell(respond, "I can't find those rejected events. Nothing was changed.");
      const { standing } = await standingIn(deps, group.role, body.user.id);
      if (standing === "outsider") {
        return tell(respond, outsiderMessage(group.role, "review rejected events", false));
      }
      if (!(await reviewGroup(deps.db, group.id, body.user.id, deps.clock.now())))
        return tell(respond, "Those rejected events were already reviewed. Nothing was changed.");
    },
  );

  app.action<BlockAction<ButtonAction>>(REVIEW_ACTION, async ({ ack, body, action, respond }) => {
    await ack();
    const id = rowIdValue.safeParse(action.value);
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
          expectedOutcome: "the producer fixes what it sends",
          at: now,
        });
        // The card says so: an edit in the card's lane, so it follows the post even if
        // that is still waiting for Slack.
        if (row.channel) {
          await queueMessage(tx, {
            subject: { type: "rejected_event", id: row.id },
            mode: "edit",
            dedupeKey: `rejected-${row.id}-reviewed`,
            ...renderRejectionGroupCard(singleRejectionView(row), deps.contractDocsUrl),
          });
        }
      }
      return row;
    });
    if (!reviewed)
      return tell(respond, "That rejected event was already reviewed. Nothing was changed.");
  });
}
