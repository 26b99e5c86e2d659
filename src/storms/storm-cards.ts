/**
 * Keeps a storm's one Slack card in step with its rows, through the Slack outbox: every change
 * queues a `storm_card` row in the transaction of the change (one pending row per storm absorbs
 * every later change), and the relay posts the card or redraws it from the rows as they are
 * when it is sent, at most once per window. Slack being down for any length of time only
 * means the row waits. The card, its redraws and its thread notes share the storm's lane, so
 * they go out in order.
 *
 * Exactly one card per storm: before posting, the relay looks for a message whose metadata
 * names the storm (an attempt that died between Slack's answer and our write left one) and
 * adopts it. If two posts still race (a lane lease lost mid-call), the loser deletes its own.
 */
import { and, eq, isNotNull, isNull, sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { queueCardSync } from "../exceptions/cards.js";
import type { Queryable } from "../platform/db/db.js";
import { exceptions, slackOutbox, storms } from "../platform/db/schema.js";
import { queueRedraw } from "../platform/slack/outbox.repo.js";
import {
  findEarlierPost,
  postFindable,
  queueMessage,
  redraw,
} from "../platform/slack/outbox-message.js";
import type { OutboxHandler } from "../platform/slack/outbox-relay.js";
import { coalesceDelay } from "../platform/slack/rate-limits.js";
import { renderStormCard, type StormRow } from "./storm-card.js";
import { findStorm, recordStormAudit, stormStats } from "./storms.repo.js";

export const STORM_METADATA_TYPE = "syncdesk_storm";
/** At most one chat.update per storm card per this many milliseconds. */
export const STORM_CARD_EVERY_MS = 2000;

const windowOf = (deps: Pick<Deps, "storms">) => deps.storms?.settings.windowMs ?? 5 * 60_000;

/**
 * The storm's card is to show a change: posted if it has none, else redrawn. Use inside the
 * transaction of the change, as its last statement. A pending row already there is locked
 * until this transaction ends, so the relay cannot render it before the change is committed
 * (and then miss it); one that is being sent already gets a new row behind it.
 */
export async function queueStormCard(db: Queryable, stormId: number): Promise<void> {
  await queueRedraw(db, {
    lane: stormLane(stormId),
    kind: "storm_card",
    payload: { stormId },
    // Paced with the storm's channel, like its members' cards.
    paceKey: sql`(select channel from ${storms} where id = ${stormId})`,
  });
}

/**
 * The `storms.card` job of earlier releases, still in Redis after an upgrade: the outbox
 * takes it over.
 */
export async function runStormCardJob(deps: Deps, data: { stormId: number }): Promise<void> {
  await queueStormCard(deps.db, data.stormId);
}

/** The relay's handler of `storm_card` rows: post the card, or redraw it from the rows now. */
export function stormCardHandler(deps: Deps, windowMs = STORM_CARD_EVERY_MS): OutboxHandler {
  return {
    async holdFor(row) {
      const [found] = await deps.db.execute<{ last: string | null; now: string }>(sql`
        select max(sent_at) as last, now() as now from ${slackOutbox}
        where lane = ${row.lane} and kind = 'storm_card' and state = 'sent'
          and payload->>'delivered' = 'update'`);
      return coalesceDelay(
        found?.last ? new Date(found.last) : null,
        found ? new Date(found.now) : new Date(),
        windowMs,
      );
    },
    async deliver(row) {
      const storm = await findStorm(deps.db, Number(row.payload.stormId));
      if (!storm) return { ok: false, reason: "storm not found" };
      if (!storm.cardTs)
        return { ok: true, delivered: "post", ...(await postStormCard(deps, storm)) };
      const stats = await stormStats(deps.db, storm.id);
      const card = renderStormCard(storm, stats, windowOf(deps));
      return redraw(deps.slack, { channel: storm.channel, ts: storm.cardTs }, card);
    },
  };
}

/**
 * Posts the storm card unless an earlier attempt did (storms are rare: always look first), and
 * records its ts with an audit row. Returns where the card is.
 */
async function postStormCard(
  deps: Deps,
  storm: StormRow,
): Promise<{ channel: string; ts: string }> {
  const earlier = await findEarlierPost(
    deps.slack,
    deps.logger,
    { channel: storm.channel },
    (payload, type) => type === STORM_METADATA_TYPE && Number(payload.storm_id) === storm.id,
    storm.formedAt,
  );
  let answer = earlier;
  let members = 0;
  if (!answer) {
    const stats = await stormStats(deps.db, storm.id);
    members = stats.members;
    const card = renderStormCard(storm, stats, windowOf(deps));
    answer = await postFindable(deps.slack, { channel: storm.channel }, card, {
      event_type: STORM_METADATA_TYPE,
      event_payload: { storm_id: storm.id },
    });
  }
  const at = answer;
  const adopted = await deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(storms)
      .set({ cardTs: at.ts, channel: at.channel })
      .where(and(eq(storms.id, storm.id), isNull(storms.cardTs)))
      .returning({ id: storms.id });
    if (!updated) return false;
    await recordStormAudit(tx, storm.id, {
      source: "slack",
      action: "storm_card_posted",
      details: {
        channel: at.channel,
        ts: at.ts,
        ...(earlier ? { how: "reconciled" } : { members }),
      },
      at: deps.clock.now(),
    });
    // Members carded before the storm formed get the line that says they belong to it.
    const carded = await tx
      .select({ id: exceptions.id })
      .from(exceptions)
      .where(and(eq(exceptions.stormId, storm.id), isNotNull(exceptions.cardTs)));
    for (const { id } of carded) await queueCardSync(tx, id);
    // Adopted, or drawn before members that joined meanwhile: redraw from the rows now.
    await queueStormCard(tx, storm.id);
    return true;
  });
  if (adopted) return at;
  const theirs = await findStorm(deps.db, storm.id);
  if (!theirs?.cardTs) throw new Error("storm card ts vanished while adopting");
  if (theirs.cardTs !== at.ts) {
    deps.logger.warn({ stormId: storm.id, ts: at.ts }, "deleting a duplicate storm card");
    await deps.slack.chat.delete({ channel: at.channel, ts: at.ts });
  }
  return { channel: theirs.channel, ts: theirs.cardTs };
}

/** The outbox lane of a storm's thread notes: they go out in the order they were queued. */
export const stormLane = (stormId: number) => `storm-${stormId}`;

/**
 * Queues a one-line note in the storm card's thread, inside the transaction of the change it
 * tells of (or with a key that makes a rerun of the job one note): it waits out a Slack outage
 * and goes out once. A storm whose card is not posted yet gets no note: the card is drawn from
 * the rows when it is posted, so it shows the change anyway.
 */
export async function queueStormNote(
  db: Queryable,
  storm: Pick<StormRow, "id" | "channel" | "cardTs">,
  text: string,
  dedupeKey: string,
): Promise<void> {
  if (!storm.cardTs) return;
  await queueMessage(db, {
    lane: stormLane(storm.id),
    dedupeKey,
    channel: storm.channel,
    threadTs: storm.cardTs,
    text,
  });
}
