/**
 * Keeps each exception's Slack card in step with its row, through the Slack outbox: a change
 * queues a card row (one pending row per card absorbs every later change), notes queue
 * message rows in the card's lane, and the relay sends them in order. The card is always
 * rendered from the row as it is when sent, so the last write shows the latest state; updates
 * are coalesced to one `chat.update` per card per window (first one at once).
 *
 * Exactly one card per exception: the relay marks the row `sending` before the call, so an
 * attempt that may have posted (crash, lost connection, our write after the post failed) is
 * known; before posting again it looks for a message whose metadata carries the exception id
 * and adopts its ts. If two posts still race, the loser deletes its own message.
 */
import { randomUUID } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.js";
import type { Queryable } from "../platform/db/db.js";
import { exceptions } from "../platform/db/schema.js";
import { metrics } from "../platform/metrics.js";
import { enqueueOutbox, lastCardUpdate, type OutboxEntry } from "../platform/slack/outbox.repo.js";
import {
  findEarlierPost,
  type MessageInput,
  messageHandler,
  messagePayloadSchema,
  postFindable,
  redraw,
} from "../platform/slack/outbox-message.js";
import type { OutboxHandler } from "../platform/slack/outbox-relay.js";
import type { SubjectBindings } from "../platform/slack/outbox-subjects.js";
import { coalesceDelay } from "../platform/slack/rate-limits.js";
import { clientSourceOfTruth } from "../routing/source-of-truth.js";
import { type CardDecorator, type CardExtras, type ExceptionRow, renderCard } from "./card.js";

export const CARD_METADATA_TYPE = "syncdesk_exception";
/** At most one `chat.update` per card per this many milliseconds (the first one at once). */
export const CARD_UPDATE_WINDOW_MS = 2000;

/** The outbox lane of an exception: its card, its updates and its thread, in order. */
export const cardLane = (exceptionId: number) => `exception-${exceptionId}`;

/** Queues a post-or-refresh of the card; use inside the transaction of the change. */
export async function queueCardSync(db: Queryable, exceptionId: number): Promise<void> {
  await enqueueOutbox(db, [{ lane: cardLane(exceptionId), kind: "card", exceptionId }]);
}

/** Queues a post-or-refresh of an exception's card from its row, if it has a card of its own. */
export async function queueCardFor(db: Queryable, exceptionId: number): Promise<void> {
  const [row] = await db
    .select({
      id: exceptions.id,
      stormId: exceptions.stormId,
      cardTs: exceptions.cardTs,
      channel: exceptions.channel,
    })
    .from(exceptions)
    .where(eq(exceptions.id, exceptionId));
  if (row) await enqueueOutbox(db, cardEntries(row, { card: true }));
}

/** A storm member without a card of its own has neither refreshes nor a thread: its storm's card shows it. */
function hasOwnCard(row: Pick<ExceptionRow, "stormId" | "cardTs">): boolean {
  return row.stormId === null || Boolean(row.cardTs);
}

/**
 * The outbox rows that show one change of an exception: a refresh of its card (posted first if
 * it is not there yet) and a note in its thread. `dedupeKey` makes a repeated call (a job run
 * twice) one note; without it every call is a note of its own.
 */
export function cardEntries(
  row: Pick<ExceptionRow, "id" | "stormId" | "cardTs" | "channel">,
  show: { card: boolean; note?: string | MessageInput | null; dedupeKey?: string },
): OutboxEntry[] {
  if (!hasOwnCard(row)) return [];
  const entries: OutboxEntry[] = [];
  const lane = cardLane(row.id);
  // The card's channel, known here: the relay can tell a wake-up for a busy channel apart.
  const paceKey = row.channel;
  if (show.card) entries.push({ lane, kind: "card", exceptionId: row.id, paceKey });
  if (show.note) {
    const note = show.note;
    entries.push({
      lane,
      kind: "message",
      exceptionId: row.id,
      inCardThread: true,
      paceKey,
      dedupeKey: show.dedupeKey ?? `note-${row.id}-${randomUUID()}`,
      payload: messagePayloadSchema.parse(typeof note === "string" ? { text: note } : note),
    });
  }
  return entries;
}

/**
 * Queues a reply in the card's thread; use inside the transaction of the change (the change
 * seam does this for the change's own note; SLA notices add theirs). The card is posted first
 * if it is not there yet. A storm member without a card of its own has no thread.
 */
export async function queueThreadNote(
  db: Queryable,
  row: Pick<ExceptionRow, "id" | "stormId" | "cardTs" | "channel">,
  note: string | MessageInput,
  dedupeKey?: string,
): Promise<void> {
  await enqueueOutbox(db, cardEntries(row, { card: false, note, dedupeKey }));
}

/**
 * The relay's handlers for card rows and messages (card-thread notes, DMs, and messages of
 * other rows, recorded there through `subjects`).
 */
export function cardOutboxHandlers(
  deps: Deps,
  options: {
    windowMs?: number;
    subjects: SubjectBindings;
    /** Lines other features add to every card (the SLA line, storm membership). */
    decorators?: readonly CardDecorator[];
  },
): { card: OutboxHandler; message: OutboxHandler } {
  const windowMs = options.windowMs ?? CARD_UPDATE_WINDOW_MS;
  const extras = (row: ExceptionRow): CardExtras => ({
    context: (options.decorators ?? []).flatMap((decorate) => decorate(row) ?? []),
    // The routing active when the card is drawn: a reviewed change shows on the next refresh.
    sourceOfTruth: clientSourceOfTruth(deps.routing.current().config, row.client, row.targetSystem),
  });
  const load = async (id: number | null) => {
    if (id === null) return undefined;
    const [row] = await deps.db.select().from(exceptions).where(eq(exceptions.id, id));
    return row;
  };
  return {
    card: {
      async holdFor(row) {
        if (row.exceptionId === null) return 0;
        const { last, now } = await lastCardUpdate(deps.db, row.exceptionId);
        return coalesceDelay(last, now, windowMs);
      },
      async deliver(row, resumed) {
        const exception = await load(row.exceptionId);
        if (!exception) return { ok: false, reason: "exception not found" };
        if (!exception.cardTs) {
          if (exception.stormId !== null) return { ok: true };
          return {
            ok: true,
            delivered: "post",
            ...(await postCardOnce(deps, exception, resumed, extras)),
          };
        }
        const card = renderCard(exception, extras(exception));
        return redraw(deps.slack, { channel: exception.channel, ts: exception.cardTs }, card);
      },
    },
    message: messageHandler(
      deps.slack,
      deps.logger,
      async (row, resumed) => {
        let exception = await load(row.exceptionId);
        if (!exception) return "exception not found";
        if (!exception.cardTs) {
          if (exception.stormId !== null) return "a storm member has no card of its own";
          await postCardOnce(deps, exception, resumed, extras);
          exception = await load(exception.id);
          if (!exception?.cardTs) return "the card could not be posted";
        }
        return { channel: exception.channel, threadTs: exception.cardTs };
      },
      options.subjects,
    ),
  };
}

/**
 * Posts the card unless an earlier attempt already did (`resumed`: look for it first), and
 * records its ts with the audit row. Returns where the card is.
 */
async function postCardOnce(
  deps: Deps,
  exception: ExceptionRow,
  resumed: boolean,
  extras: (row: ExceptionRow) => CardExtras,
): Promise<{ channel: string; ts: string }> {
  if (resumed) {
    const found = await findEarlierPost(
      deps.slack,
      deps.logger,
      { channel: exception.channel },
      (payload, type) =>
        type === CARD_METADATA_TYPE && Number(payload.exception_id) === exception.id,
      exception.createdAt,
    );
    if (found) return adoptCard(deps, exception, found, "reconciled");
  }
  const card = renderCard(exception, extras(exception));
  const posted = await postFindable(deps.slack, { channel: exception.channel }, card, {
    event_type: CARD_METADATA_TYPE,
    event_payload: { exception_id: exception.id },
  });
  metrics.cardsPosted.inc();
  return adoptCard(deps, exception, posted, "posted");
}

async function adoptCard(
  deps: Deps,
  exception: ExceptionRow,
  card: { channel: string; ts: string },
  how: "posted" | "reconciled",
): Promise<{ channel: string; ts: string }> {
  const adopted = await deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(exceptions)
      .set({ cardTs: card.ts, channel: card.channel })
      .where(and(eq(exceptions.id, exception.id), isNull(exceptions.cardTs)))
      .returning({ id: exceptions.id });
    if (!updated) return false;
    await recordAudit(tx, {
      exceptionId: exception.id,
      actor: SYSTEM_ACTOR,
      source: "slack",
      action: "card_posted",
      stateBefore: exception.state,
      stateAfter: exception.state,
      details: { channel: card.channel, ts: card.ts, ...(how === "reconciled" ? { how } : {}) },
    });
    return true;
  });
  if (adopted) return card;
  // Another sender recorded a card first (a lease lost mid-call): keep theirs, remove ours.
  const current = await deps.db.select().from(exceptions).where(eq(exceptions.id, exception.id));
  const theirs = current[0];
  if (!theirs?.cardTs) throw new Error("card ts vanished while adopting");
  if (theirs.cardTs !== card.ts) {
    deps.logger.warn({ exceptionId: exception.id, ts: card.ts }, "deleting a duplicate card");
    await deps.slack.chat.delete({ channel: card.channel, ts: card.ts });
  }
  return { channel: theirs.channel, ts: theirs.cardTs };
}
