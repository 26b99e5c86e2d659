/**
 * Keeps a storm's one Slack card in step with its rows. Posted once (under a lock, its ts
 * recorded in the same transaction), then redrawn at most once per slot however many members
 * change: every change asks for the slot's update, which renders the rows as they are then.
 */
import { and, eq, isNotNull, isNull, sql } from "drizzle-orm";
import type { Queryable } from "../platform/db/db.js";
import { exceptions, storms } from "../platform/db/schema.js";
import type { Deps } from "../platform/deps.js";
import { enqueue } from "../platform/queue/queues.js";
import { findEarlierPost, queueMessage } from "../platform/slack/outbox-message.js";
import { renderStormCard, type StormRow, type StormStats } from "./storm-card.js";
import { coalesceSlot } from "./storm-policy.js";
import { findStorm, recordStormAudit, stormStats } from "./storms.repo.js";

export const STORM_METADATA_TYPE = "syncdesk_storm";
/** At most one chat.update per storm card per this many milliseconds. */
export const STORM_CARD_EVERY_MS = 2000;
/** Advisory lock namespace for posting a storm card (exception cards use 42). */
const STORM_CARD_LOCK = 43;

const windowOf = (deps: Pick<Deps, "storms">) => deps.storms?.settings.windowMs ?? 5 * 60_000;

/**
 * A member changed: the storm's card is posted if it has none, else its next redraw is due.
 * Both happen in a job, never here: this runs inside intake and clicks, which must not wait
 * for Slack's per-channel rate limit (one job id per storm for the post).
 */
export async function stormMemberChanged(deps: Deps, stormId: number): Promise<void> {
  const storm = await findStorm(deps.db, stormId);
  if (!storm) return;
  if (!storm.cardTs) {
    await enqueue(
      deps.queues,
      "storms.card",
      { stormId, post: true },
      { jobId: `storm-${stormId}-post` },
    );
    return;
  }
  await scheduleStormCard(deps, stormId);
}

/** The `storms.card` job: post the card, or redraw it from the rows now. */
export async function runStormCardJob(
  deps: Deps,
  data: { stormId: number; post?: boolean | undefined },
): Promise<void> {
  const storm = await findStorm(deps.db, data.stormId);
  if (!storm) return;
  if (!storm.cardTs) {
    await postStormCard(deps, storm.id);
    return;
  }
  // A post job that finds the card posted (a repeat): the redraw stays coalesced.
  if (data.post) await scheduleStormCard(deps, storm.id);
  else await updateStormCard(deps, storm.id);
}

/** Asks for the redraw of this slot; every ask in one slot is the same job (one update). */
export async function scheduleStormCard(
  deps: Pick<Deps, "queues" | "clock">,
  stormId: number,
): Promise<void> {
  const { slot, delayMs } = coalesceSlot(deps.clock.now(), STORM_CARD_EVERY_MS);
  await enqueue(
    deps.queues,
    "storms.card",
    { stormId },
    { jobId: `storm-${stormId}-card-${slot}`, delay: delayMs },
  );
}

/** Posts the storm card unless it is posted already; true when this call posted it. */
export async function postStormCard(deps: Deps, stormId: number): Promise<boolean> {
  const posted = await deps.db.transaction(async (tx) => {
    // One poster per storm: a second caller waits here, then finds the ts recorded.
    await tx.execute(sql`select pg_advisory_xact_lock(${STORM_CARD_LOCK}, ${stormId}::int)`);
    const storm = await findStorm(tx, stormId);
    if (!storm || storm.cardTs) return null;
    const stats = await stormStats(tx, stormId);
    // Exactly one card: an attempt that died between Slack's answer and our commit left a
    // card whose metadata names this storm. Storms are rare, so always look first.
    const earlier = await findEarlierPost(
      deps.slack,
      deps.logger,
      { channel: storm.channel },
      (payload, type) => type === STORM_METADATA_TYPE && Number(payload.storm_id) === storm.id,
      storm.formedAt,
    );
    const answer = earlier ?? (await postCard(deps, storm, stats));
    await tx
      .update(storms)
      .set({ cardTs: answer.ts, channel: answer.channel })
      .where(and(eq(storms.id, stormId), isNull(storms.cardTs)));
    await recordStormAudit(tx, stormId, {
      source: "slack",
      action: "storm_card_posted",
      details: {
        channel: answer.channel,
        ts: answer.ts,
        members: stats.members,
        ...(earlier ? { how: "reconciled" } : {}),
      },
      at: deps.clock.now(),
    });
    return storm;
  });
  if (!posted) return false;
  // Members carded before the storm formed get the line that says they belong to it.
  const carded = await deps.db
    .select({ id: exceptions.id })
    .from(exceptions)
    .where(and(eq(exceptions.stormId, stormId), isNotNull(exceptions.cardTs)));
  for (const { id } of carded) await enqueue(deps.queues, "cards.sync", { exceptionId: id });
  // Members may have joined while the post was in flight.
  await scheduleStormCard(deps, stormId);
  return true;
}

async function postCard(
  deps: Deps,
  storm: StormRow,
  stats: StormStats,
): Promise<{ channel: string; ts: string }> {
  const card = renderStormCard(storm, stats, windowOf(deps));
  const answer = await deps.slack.chat.postMessage({
    channel: storm.channel,
    text: card.text,
    blocks: card.blocks as never,
    unfurl_links: false,
    unfurl_media: false,
    metadata: { event_type: STORM_METADATA_TYPE, event_payload: { storm_id: storm.id } },
  });
  if (!answer.ts) throw new Error("chat.postMessage returned no ts");
  return { channel: answer.channel ?? storm.channel, ts: answer.ts };
}

/** Redraws the card from the rows now (the coalesced job, and a storm's end). */
export async function updateStormCard(deps: Deps, stormId: number): Promise<void> {
  const storm = await findStorm(deps.db, stormId);
  if (!storm) return;
  if (!storm.cardTs) {
    await postStormCard(deps, stormId);
    return;
  }
  const stats = await stormStats(deps.db, stormId);
  const card = renderStormCard(storm, stats, windowOf(deps));
  await deps.slack.chat.update({
    channel: storm.channel,
    ts: storm.cardTs,
    text: card.text,
    blocks: card.blocks as never,
  });
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
