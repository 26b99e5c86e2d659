/**
 * Delivery events that break their contract arrive at the volume of all stock updates, so they
 * are never a card each: they are counted per producer source and problem
 * (`delivery_rejections`), and one card per UTC day in the default role's channel shows the
 * groups, redrawn at most every 30 seconds while new ones arrive.
 */
import { eq, sql } from "drizzle-orm";
import type { Db, Tx } from "../platform/db/db.js";
import { deliveryRejectionCards } from "../platform/db/schema.js";
import { safeText, slackDate } from "../platform/slack/mrkdwn.js";
import { queueMessage } from "../platform/slack/outbox-message.js";
import type { SubjectBinding, SubjectOf } from "../platform/slack/outbox-subjects.js";

export const REDRAW_MS = 30_000;
const MAX_GROUPS = 15;

export interface RejectionGroup {
  source: string;
  problem: string;
  count: number;
  lastSeenAt: Date;
  sample: string;
}

export function renderRejectionsCard(
  day: string,
  groups: RejectionGroup[],
  drawnAt: Date,
): { text: string; blocks: object[] } {
  const total = groups.reduce((sum, group) => sum + group.count, 0);
  const lines = groups
    .slice(0, MAX_GROUPS)
    .map(
      (group) =>
        `• *${group.count}* from \`${safeText(group.source, 100)}\`: ${safeText(group.problem, 300)}`,
    );
  if (groups.length > MAX_GROUPS) lines.push(`…and ${groups.length - MAX_GROUPS} more kinds`);
  const sample = groups[0] ? `Latest sample: \`${safeText(groups[0].sample, 400)}\`` : "";
  return {
    text: `Rejected delivery events on ${day}: ${total} in ${groups.length} group(s)`,
    blocks: [
      {
        type: "section",
        text: {
          type: "mrkdwn",
          text: `:no_entry: *Rejected delivery events* on ${day} (UTC): *${total}* events broke the delivery contract (\`sync.succeeded\`, \`sync.started\`, \`sync.batch\`) and were not counted. Grouped by producer source and problem:`,
        },
      },
      {
        type: "section",
        text: { type: "mrkdwn", text: lines.join("\n").slice(0, 2900) || "none" },
      },
      {
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            text: `Counts as of ${slackDate(drawnAt)}; redrawn at most every 30 s while more arrive. ${sample}`.slice(
              0,
              2900,
            ),
          },
        ],
      },
    ],
  };
}

/**
 * After rejections were counted in this transaction: posts the day's card the first time,
 * redraws it when the last drawing is older than REDRAW_MS, else leaves it.
 */
export async function noteRejections(tx: Tx, channel: string, now: Date): Promise<void> {
  const day = now.toISOString().slice(0, 10);
  const [drawn] = await tx.execute<{ inserted: boolean }>(sql`
    insert into delivery_rejection_cards (day, drawn_at) values (${day}, ${now.toISOString()})
    on conflict (day) do update set drawn_at = excluded.drawn_at
      where delivery_rejection_cards.drawn_at <= excluded.drawn_at - ${`${REDRAW_MS} milliseconds`}::interval
    returning (xmax = 0) as inserted`);
  if (!drawn) return;
  const dayStart = `${day}T00:00:00Z`;
  const groups = await tx.execute<{
    source: string;
    problem: string;
    count: string | number;
    last_seen_at: string | Date;
    sample: string;
  }>(sql`
    select source, problem, count, last_seen_at, sample from delivery_rejections
    where last_seen_at >= ${dayStart}::timestamptz
    order by count desc, source, problem limit ${MAX_GROUPS + 50}`);
  const card = renderRejectionsCard(
    day,
    groups.map((row) => ({
      source: row.source,
      problem: row.problem,
      count: Number(row.count),
      lastSeenAt: new Date(row.last_seen_at),
      sample: row.sample,
    })),
    now,
  );
  const subject = { type: "delivery_rejections", day } as const;
  if (drawn.inserted) {
    await queueMessage(tx, {
      subject,
      channel,
      dedupeKey: `delivery-rejections-${day}-card`,
      ...card,
    });
  } else {
    await queueMessage(tx, {
      subject,
      mode: "edit",
      dedupeKey: `delivery-rejections-${day}-${now.getTime()}`,
      ...card,
    });
  }
}

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
