/**
 * Rejected events grouped by producer and problem: each rejection is counted on its group's
 * row in the transaction that stores it, and the group's one card (in the producer's role's
 * channel, see `producers:` in the routing file) is posted once and redrawn in place through
 * the Slack outbox, at most once per window. A thousand bad events from one producer are one
 * card with a count, paced like any other card, in the channel of the team that can fix them.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import type { Queryable } from "../platform/db/db.js";
import { type RejectionKind, rejectionGroups, slackOutbox } from "../platform/db/schema.js";
import { queueRedraw } from "../platform/slack/outbox.repo.js";
import { findEarlierPost, postFindable, redraw } from "../platform/slack/outbox-message.js";
import type { OutboxHandler } from "../platform/slack/outbox-relay.js";
import { coalesceDelay } from "../platform/slack/rate-limits.js";
import { type ProducerIdentity, producerName, producerRole } from "../routing/producers.js";
import type { RoutingConfig } from "../routing/routing-file.schema.js";
import { type RejectionGroupView, renderRejectionGroupCard } from "./rejection-card.js";
import type { Problem } from "./validation.js";

export const REJECTIONS_METADATA_TYPE = "syncdesk_rejections";
/** At most one chat.update per rejection card per this many milliseconds (first one at once). */
export const REJECTION_CARD_EVERY_MS = 10_000;
const MAX_KEY = 500;

export type RejectionGroupRow = typeof rejectionGroups.$inferSelect;

/** The role and channel that hear about a producer's rejected events. */
export type RejectionTarget = (who: ProducerIdentity) => { role: string; channel: string };

export function rejectionTargetOf(
  config: Pick<RoutingConfig, "producers" | "defaultRole" | "roles">,
): RejectionTarget {
  return (who) => {
    const role = producerRole(config, who);
    const channel = config.roles[role]?.channel ?? config.roles[config.defaultRole]?.channel;
    if (!channel) throw new Error(`role ${role} has no channel`);
    return { role, channel };
  };
}

/** The `sourceSystem` an event names, if it names a usable one (whatever else is wrong with it). */
export function claimedSourceSystem(data: unknown): string | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const value = (data as { sourceSystem?: unknown }).sourceSystem;
  if (typeof value !== "string") return undefined;
  const trimmed = value.replaceAll("\u0000", "").trim();
  return trimmed === "" ? undefined : trimmed.slice(0, 100);
}

/** The grouping key of what was wrong: field paths and messages, sorted, without values. */
export function problemKey(problems: readonly Problem[]): string {
  const lines = [...new Set(problems.map((p) => `${p.path}: ${p.message}`))].sort();
  return lines.join("; ").slice(0, MAX_KEY) || "(no detail)";
}

export function problemLines(problems: readonly Problem[]): string {
  return problems
    .slice(0, 50)
    .map((p) => `\`${p.path}\` ${p.message}`)
    .join("\n");
}

export interface RejectionNote {
  kind: RejectionKind;
  who: ProducerIdentity;
  /** Grouping key (problemKey for field problems). */
  problem: string;
  /** Lines shown under "What was wrong". */
  details: string;
  sample: string;
  count: number;
  rejectedId?: number;
  at: Date;
}

/**
 * Counts rejections on their open group (made on first sight) and queues its card; inside the
 * transaction that stores them. Returns the group's id.
 */
export async function noteRejection(
  db: Queryable,
  target: RejectionTarget,
  note: RejectionNote,
): Promise<number> {
  const { role, channel } = target(note.who);
  const [group] = await db
    .insert(rejectionGroups)
    .values({
      kind: note.kind,
      producer: producerName(note.who),
      problem: note.problem,
      role,
      channel,
      count: note.count,
      firstSeenAt: note.at,
      lastSeenAt: note.at,
      sample: note.sample.slice(0, 4000),
      details: note.details.slice(0, 8000),
      lastRejectedId: note.rejectedId ?? null,
    })
    .onConflictDoUpdate({
      target: [rejectionGroups.kind, rejectionGroups.producer, rejectionGroups.problem],
      targetWhere: sql`reviewed_at is null`,
      set: {
        count: sql`${rejectionGroups.count} + excluded.count`,
        lastSeenAt: sql`greatest(${rejectionGroups.lastSeenAt}, excluded.last_seen_at)`,
        sample: sql`excluded.sample`,
        details: sql`excluded.details`,
        lastRejectedId: sql`coalesce(excluded.last_rejected_id, ${rejectionGroups.lastRejectedId})`,
      },
    })
    .returning({ id: rejectionGroups.id, channel: rejectionGroups.channel });
  if (!group) throw new Error("rejection group upsert returned nothing");
  await queueRejectionCard(db, group.id, group.channel);
  return group.id;
}

export const rejectionLane = (groupId: number) => `rejections-${groupId}`;

/**
 * The group's card is to show the latest count: posted if it has none, else redrawn. One
 * pending row absorbs every later change (it renders the row as it is when sent); the group's
 * row, updated earlier in the same transaction, keeps two writers from both adding one.
 */
export async function queueRejectionCard(
  db: Queryable,
  groupId: number,
  channel: string,
): Promise<void> {
  await queueRedraw(db, {
    lane: rejectionLane(groupId),
    kind: "rejection_card",
    paceKey: channel,
    payload: { groupId },
  });
}

export async function findRejectionGroup(
  db: Queryable,
  id: number,
): Promise<RejectionGroupRow | undefined> {
  const [row] = await db.select().from(rejectionGroups).where(eq(rejectionGroups.id, id));
  return row;
}

export function groupView(row: RejectionGroupRow): RejectionGroupView {
  return row;
}

/** The relay's handler of `rejection_card` rows: post the card, or redraw it from the row. */
export function rejectionCardHandler(
  deps: Pick<Deps, "db" | "slack" | "logger" | "contractDocsUrl">,
  windowMs = REJECTION_CARD_EVERY_MS,
): OutboxHandler {
  return {
    async holdFor(row) {
      const [found] = await deps.db.execute<{ last: string | null; now: string }>(sql`
        select max(sent_at) as last, now() as now from ${slackOutbox}
        where lane = ${row.lane} and kind = 'rejection_card' and state = 'sent'`);
      return coalesceDelay(
        found?.last ? new Date(found.last) : null,
        found ? new Date(found.now) : new Date(),
        windowMs,
      );
    },
    async deliver(row, resumed) {
      const group = await findRejectionGroup(deps.db, Number(row.payload.groupId));
      if (!group) return { ok: false, reason: "rejection group not found" };
      const card = renderRejectionGroupCard(groupView(group), deps.contractDocsUrl);
      if (group.cardTs && group.cardChannel) {
        return redraw(deps.slack, { channel: group.cardChannel, ts: group.cardTs }, card);
      }
      const target = { channel: group.channel };
      const mine = (payload: Record<string, unknown>, type: string) =>
        type === REJECTIONS_METADATA_TYPE && Number(payload.group_id) === group.id;
      const at =
        (resumed
          ? await findEarlierPost(deps.slack, deps.logger, target, mine, group.firstSeenAt)
          : undefined) ??
        (await postFindable(deps.slack, target, card, {
          event_type: REJECTIONS_METADATA_TYPE,
          event_payload: { group_id: group.id },
        }));
      const [recorded] = await deps.db
        .update(rejectionGroups)
        .set({ cardTs: at.ts, cardChannel: at.channel })
        .where(and(eq(rejectionGroups.id, group.id), isNull(rejectionGroups.cardTs)))
        .returning({ id: rejectionGroups.id });
      if (!recorded) {
        const theirs = await findRejectionGroup(deps.db, group.id);
        if (theirs?.cardTs && theirs.cardTs !== at.ts) {
          deps.logger.warn({ groupId: group.id, ts: at.ts }, "deleting a duplicate rejection card");
          await deps.slack.chat.delete({ channel: at.channel, ts: at.ts });
        }
      }
      return { ok: true, delivered: "post", ...at };
    },
  };
}
