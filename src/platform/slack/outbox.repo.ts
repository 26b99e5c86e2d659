/**
 * The Slack outbox table: rows are added in the transaction of the change they announce
 * (`enqueueOutbox(tx, …)`), which also wakes every relay at commit (`pg_notify`), and are
 * moved through pending -> sending -> sent | failed by the relay, one lane at a time.
 */
import { and, asc, eq, getTableColumns, inArray, type SQL, sql } from "drizzle-orm";
import type { Queryable } from "../db/db.js";
import { type SlackOutboxKind, slackOutbox } from "../db/schema.js";
import { pgErrorCode } from "../errors.js";
import { activeTraceparent } from "../tracing.js";

export type OutboxRow = typeof slackOutbox.$inferSelect;

/**
 * The Postgres NOTIFY channel relays listen on; the payload is the pace key of the rows added
 * (empty when it is only known to the database).
 */
export const OUTBOX_NOTIFY = "syncdesk_slack_outbox";

const OPEN = ["pending", "sending"] as const;

export interface OutboxEntry {
  lane: string;
  kind: SlackOutboxKind;
  /** Unique per message: enqueueing the same key twice is one message. */
  dedupeKey?: string;
  exceptionId?: number;
  /** Channel or user id; unset for card rows and card-thread replies. */
  channel?: string;
  inCardThread?: boolean;
  payload?: Record<string, unknown>;
  /**
   * The trace the row's Slack call continues; unset: the active one. A batch of intake names
   * each event's own, since one transaction carries many.
   */
  traceContext?: string | null;
  /**
   * The channel (or DM user) whose rate limit the row's call waits on. Defaults to `channel`,
   * else the exception's card channel; unknown (null) rows are not held to one lane a channel.
   */
  paceKey?: string | SQL;
}

/** The pace key of an entry (see OutboxEntry.paceKey). */
function paceKeyOf(entry: OutboxEntry): string | SQL | null {
  if (entry.paceKey !== undefined) return entry.paceKey;
  if (entry.channel) return entry.channel;
  if (entry.exceptionId !== undefined)
    return sql`(select channel from exceptions where id = ${entry.exceptionId})`;
  return null;
}

/**
 * A redraw of one lane's message (a storm card, a rejection card): queued unless a pending row
 * of that lane and kind is there already, which is locked until this transaction ends, so the
 * relay cannot render it before the change is committed (and then miss it); one that is being
 * sent already gets a new row behind it. Use inside the change's transaction, last.
 */
export async function queueRedraw(db: Queryable, entry: OutboxEntry): Promise<void> {
  const [pending] = await db
    .select({ id: slackOutbox.id })
    .from(slackOutbox)
    .where(
      and(
        eq(slackOutbox.lane, entry.lane),
        eq(slackOutbox.kind, entry.kind),
        eq(slackOutbox.state, "pending"),
      ),
    )
    .limit(1)
    .for("update");
  if (!pending) await enqueueOutbox(db, [entry]);
}

/**
 * Adds outbox rows; a duplicate dedupe key is skipped, and so is a second pending card row
 * for an exception (the pending one renders the latest state when it is sent). Relays wake
 * at commit.
 *
 * A card row that is already pending is locked (a no-op DO UPDATE) until this transaction
 * ends: the relay cannot start sending it, and render the card, before our change is
 * committed. Otherwise it could render the state before our change, and our change, having
 * found a pending row, would never be shown.
 */
export async function enqueueOutbox(db: Queryable, entries: OutboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  // The change that queued the rows (an intake, a click): its Slack calls continue its trace.
  const traceContext = activeTraceparent();
  const toRow = (entry: OutboxEntry) => ({
    lane: entry.lane,
    kind: entry.kind,
    dedupeKey: entry.dedupeKey ?? null,
    exceptionId: entry.exceptionId ?? null,
    channel: entry.channel ?? null,
    inCardThread: entry.inCardThread ?? false,
    payload: entry.payload ?? {},
    paceKey: paceKeyOf(entry),
    traceContext: entry.traceContext === undefined ? traceContext : entry.traceContext,
  });
  const values = (kind: SlackOutboxKind) =>
    entries.filter((entry) => entry.kind === kind).map(toRow);
  // One card row per exception: a multi-row upsert may not touch one row twice.
  const cards = [
    ...new Map(
      entries.filter((entry) => entry.kind === "card").map((entry) => [entry.exceptionId, entry]),
    ).values(),
  ];
  const messages = values("message");
  if (cards.length > 0 && cards.every((entry) => typeof entry.paceKey !== "object")) {
    await upsertCards(db, cards, traceContext);
  } else if (cards.length > 0) {
    await db
      .insert(slackOutbox)
      .values(cards.map(toRow))
      .onConflictDoUpdate({
        target: slackOutbox.exceptionId,
        targetWhere: sql`kind = 'card' and state = 'pending'`,
        set: { notBefore: sql`${slackOutbox.notBefore}` },
      });
  }
  if (messages.length > 0) await db.insert(slackOutbox).values(messages).onConflictDoNothing();
  // Other kinds (a storm card's post or redraw) coalesce themselves before they get here.
  const others = entries.filter((entry) => entry.kind !== "card" && entry.kind !== "message");
  if (others.length > 0) {
    await db
      .insert(slackOutbox)
      .values(
        others.map((entry) => ({
          ...entry,
          payload: entry.payload ?? {},
          paceKey: paceKeyOf(entry),
          traceContext: entry.traceContext === undefined ? traceContext : entry.traceContext,
        })),
      )
      .onConflictDoNothing();
  }
  // One statement for the batch (an intake batch touches many lanes): a wake-up per pace key
  // at commit, so a relay already writing to that channel need not look for work it cannot do.
  const paceKeys = [...new Set(entries.map(notifiedPaceKey))];
  await db.execute(
    paceKeys.length === 1
      ? sql`select pg_notify(${OUTBOX_NOTIFY}, ${paceKeys[0]})`
      : sql`select pg_notify(${OUTBOX_NOTIFY}, k) from jsonb_array_elements_text(${JSON.stringify(paceKeys)}::jsonb) as k`,
  );
}

/** The NOTIFY payload of an entry: its pace key when known here, else empty (wake every relay). */
function notifiedPaceKey(entry: OutboxEntry): string {
  const paceKey = paceKeyOf(entry);
  return typeof paceKey === "string" ? paceKey : "";
}

/**
 * The card rows of `enqueueOutbox` as one JSON parameter (a prepared statement: an intake
 * batch queues a card per exception it touched). A card with no pace key of its own waits on
 * its exception's channel, as `paceKeyOf` says.
 */
async function upsertCards(
  db: Queryable,
  cards: OutboxEntry[],
  traceContext: string | null,
): Promise<void> {
  const rows = JSON.stringify(
    cards.map((card) => ({
      lane: card.lane,
      kind: card.kind,
      dedupe_key: card.dedupeKey ?? null,
      exception_id: card.exceptionId ?? null,
      channel: card.channel ?? null,
      in_card_thread: card.inCardThread ?? false,
      payload: card.payload ?? {},
      pace_key: (card.paceKey as string | undefined) ?? card.channel ?? null,
      trace_context: card.traceContext === undefined ? traceContext : card.traceContext,
    })),
  );
  await db.execute(sql`
    insert into ${slackOutbox} (lane, kind, dedupe_key, exception_id, channel, in_card_thread,
      payload, pace_key, trace_context)
    select r.lane, r.kind, r.dedupe_key, r.exception_id, r.channel, r.in_card_thread, r.payload,
      coalesce(r.pace_key, (select e.channel from exceptions e where e.id = r.exception_id)),
      r.trace_context
    from rows from (jsonb_to_recordset(${rows}::jsonb) as (lane text, kind text,
      dedupe_key text, exception_id bigint, channel text, in_card_thread boolean, payload jsonb,
      pace_key text, trace_context text))
      with ordinality as r(lane, kind, dedupe_key, exception_id, channel, in_card_thread,
        payload, pace_key, trace_context, n)
    order by r.n
    on conflict (exception_id) where kind = 'card' and state = 'pending'
      do update set not_before = ${slackOutbox}.not_before`);
}

export interface ReadyLane {
  lane: string;
  /** The channel its head row waits on (null: not known before sending). */
  paceKey: string | null;
}

/**
 * Lanes whose oldest open row is due, oldest first, skipping the lanes named and the pace
 * keys named (channels this relay is already writing to), and at most one lane per pace key:
 * a channel's rows wait on that channel's rate limit in one lane at a time, so a flood into one
 * channel never fills the relay's slots while another channel's card is due.
 */
export async function readyLanes(
  db: Queryable,
  limit: number,
  skip: string[],
  busyPaceKeys: string[] = [],
): Promise<ReadyLane[]> {
  const rows = await db.execute<{ lane: string; pace_key: string | null }>(sql`
    select lane, pace_key from (
      select distinct on (coalesce(pace_key, lane)) lane, id, pace_key
      from (
        select distinct on (lane) lane, id, not_before, pace_key
        from ${slackOutbox}
        where state in ('pending', 'sending')
        order by lane, id
      ) head
      where not_before <= now()
        and not (lane = any(${sql.param(skip)}::text[]))
        and (pace_key is null or not (pace_key = any(${sql.param(busyPaceKeys)}::text[])))
      order by coalesce(pace_key, lane), id
    ) fair
    order by id
    limit ${limit}`);
  return rows.map((row) => ({ lane: row.lane, paceKey: row.pace_key }));
}

/** The oldest open row of a lane and how many milliseconds until it is due (0 = due). */
export async function laneHead(
  db: Queryable,
  lane: string,
): Promise<{ row: OutboxRow; dueInMs: number } | undefined> {
  const [found] = await db
    .select({
      ...getTableColumns(slackOutbox),
      dueInMs: sql<number>`greatest(0, ceil(extract(epoch from (${slackOutbox.notBefore} - now())) * 1000))::int`,
    })
    .from(slackOutbox)
    .where(and(eq(slackOutbox.lane, lane), inArray(slackOutbox.state, [...OPEN])))
    .orderBy(asc(slackOutbox.id))
    .limit(1);
  if (!found) return undefined;
  const { dueInMs, ...row } = found;
  return { row, dueInMs: Number(dueInMs) };
}

/** Records the intent before the call: the row is `sending` until Slack's answer is stored. */
export async function beginAttempt(db: Queryable, id: number): Promise<OutboxRow | undefined> {
  const [row] = await db
    .update(slackOutbox)
    .set({
      state: "sending",
      attemptStartedAt: sql`now()`,
      attempts: sql`${slackOutbox.attempts} + 1`,
    })
    .where(and(eq(slackOutbox.id, id), inArray(slackOutbox.state, [...OPEN])))
    .returning();
  return row;
}

export async function markSent(
  db: Queryable,
  id: number,
  result: { channel?: string; ts?: string; delivered?: string },
): Promise<void> {
  await db
    .update(slackOutbox)
    .set({
      state: "sent",
      ...(result.delivered
        ? {
            payload: sql`${slackOutbox.payload} || jsonb_build_object('delivered', ${result.delivered}::text)`,
          }
        : {}),
      sentAt: sql`now()`,
      attemptStartedAt: null,
      lastError: null,
      resultChannel: result.channel ?? null,
      resultTs: result.ts ?? null,
    })
    .where(eq(slackOutbox.id, id));
}

export async function markFailed(db: Queryable, id: number, reason: string): Promise<void> {
  await db
    .update(slackOutbox)
    .set({ state: "failed", sentAt: sql`now()`, lastError: reason.slice(0, 2000) })
    .where(eq(slackOutbox.id, id));
}

/** Holds a row back (coalescing) without counting an attempt. */
export async function holdUntil(db: Queryable, id: number, delayMs: number): Promise<void> {
  await db
    .update(slackOutbox)
    .set({ notBefore: sql`now() + make_interval(secs => ${delayMs / 1000})` })
    .where(eq(slackOutbox.id, id));
}

/**
 * Schedules another attempt. When Slack answered (nothing was posted) the row goes back to
 * pending; if a newer pending card row exists it takes over and this one is superseded. When
 * the outcome is unknown the row stays `sending`, so the next attempt reconciles first.
 */
export async function retryLater(
  db: Queryable,
  row: OutboxRow,
  options: { delayMs: number; error: string; outcomeKnown: boolean },
): Promise<void> {
  const common = {
    notBefore: sql`now() + make_interval(secs => ${options.delayMs / 1000})`,
    lastError: options.error.slice(0, 2000),
  };
  if (!options.outcomeKnown) {
    await db.update(slackOutbox).set(common).where(eq(slackOutbox.id, row.id));
    return;
  }
  try {
    await db
      .update(slackOutbox)
      .set({ ...common, state: "pending", attemptStartedAt: null })
      .where(eq(slackOutbox.id, row.id));
  } catch (error) {
    if (pgErrorCode(error) !== "23505") throw error;
    await db
      .update(slackOutbox)
      .set({ state: "superseded", sentAt: sql`now()`, attemptStartedAt: null })
      .where(eq(slackOutbox.id, row.id));
  }
}

/** When the exception's card was last updated (not posted), by the database clock. */
export async function lastCardUpdate(
  db: Queryable,
  exceptionId: number,
): Promise<{ last: Date | null; now: Date }> {
  const [found] = await db.execute<{ last: string | null; now: string }>(sql`
    select max(sent_at) as last, now() as now from ${slackOutbox}
    where exception_id = ${exceptionId} and kind = 'card' and state = 'sent'
      and payload->>'delivered' = 'update'`);
  return {
    last: found?.last ? new Date(found.last) : null,
    now: found ? new Date(found.now) : new Date(),
  };
}

/** `last_error` codes that mean Slack, or the way to it, was down. */
export const OUTAGE_ERRORS = [
  "http_5\\d\\d",
  "request_error",
  "service_unavailable",
  "fatal_error",
  "internal_error",
];

/**
 * Slack answers again: rows backing off because it was down become due now (instead of at
 * the end of a backoff of up to a minute). Coalescing holds are left alone.
 */
export async function releaseAfterOutage(db: Queryable): Promise<number> {
  const pattern = `^(${OUTAGE_ERRORS.join("|")})$`;
  const rows = await db.execute(sql`
    update ${slackOutbox} set not_before = now()
    where state in ('pending', 'sending') and not_before > now() and last_error ~ ${pattern}
    returning id`);
  return rows.length;
}

/** Forgets delivered rows after `days`; failed rows stay for an operator to look at. */
export async function pruneOutbox(db: Queryable, days: number): Promise<number> {
  const rows = await db.execute(sql`
    delete from ${slackOutbox}
    where state in ('sent', 'superseded') and sent_at < now() - make_interval(days => ${days})
    returning id`);
  return rows.length;
}
