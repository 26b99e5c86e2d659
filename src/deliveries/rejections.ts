/**
 * Delivery events that break their contract are counted per producer source and problem
 * (`delivery_rejections`, for figures) and carded like every rejected event: one card per
 * producer and problem in its role's channel (src/intake/rejection-groups.ts). Earlier
 * releases drew one card per UTC day in the default role's channel; edits of those still
 * queued find it through this binding.
 */
import { eq } from "drizzle-orm";
import type { Db } from "../platform/db/db.js";
import { deliveryRejectionCards } from "../platform/db/schema.js";
import type { SubjectBinding, SubjectOf } from "../platform/slack/outbox-subjects.js";

/** Where the day's card went, for the outbox relay. */
export function rejectionsCardBinding(db: Db): SubjectBinding<SubjectOf<"delivery_rejections">> {
  return {
    async record(subject, at) {
      await db
        .update(deliveryRejectionCards)
        .set({ channel: at.channel, cardTs: at.ts })
        .where(eq(deliveryRejectionCards.day, subject.day));
    },
    async locate(subject) {
      const [row] = await db
        .select({ channel: deliveryRejectionCards.channel, ts: deliveryRejectionCards.cardTs })
        .from(deliveryRejectionCards)
        .where(eq(deliveryRejectionCards.day, subject.day));
      return row?.channel && row.ts ? { channel: row.channel, ts: row.ts } : undefined;
    },
  };
}
