/**
 * Keeps each exception's Slack card in step with its row. The card is always rendered from
 * the row as it is now, so posting or updating twice is harmless and the last update wins.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.js";
import { exceptions } from "../platform/db/schema.js";
import type { Deps } from "../platform/deps.js";
import { type CardExtras, type ExceptionRow, renderCard } from "./card.js";

export const CARD_METADATA_TYPE = "syncdesk_exception";

export async function syncCard(deps: Deps, exceptionId: number): Promise<void> {
  const [row] = await deps.db.select().from(exceptions).where(eq(exceptions.id, exceptionId));
  if (!row) return;
  if (row.cardTs) {
    await updateCard(deps, row);
    return;
  }
  await deps.db.transaction(async (tx) => {
    // One poster per exception at a time: a second delivery of the same event waits here
    // and then finds the card already posted.
    await tx.execute(sql`select pg_advisory_xact_lock(42, ${row.id}::int)`);
    const [current] = await tx.select().from(exceptions).where(eq(exceptions.id, row.id));
    if (!current || current.cardTs) return;
    const card = renderCard(current, extrasFor(deps, current));
    const posted = await deps.slack.chat.postMessage({
      channel: current.channel,
      text: card.text,
      blocks: card.blocks as never,
      unfurl_links: false,
      unfurl_media: false,
      metadata: { event_type: CARD_METADATA_TYPE, event_payload: { exception_id: current.id } },
    });
    if (!posted.ts) throw new Error("chat.postMessage returned no ts");
    await tx
      .update(exceptions)
      .set({ cardTs: posted.ts, channel: posted.channel ?? current.channel })
      .where(and(eq(exceptions.id, current.id), isNull(exceptions.cardTs)));
    await recordAudit(tx, {
      exceptionId: current.id,
      actor: SYSTEM_ACTOR,
      source: "slack",
      action: "card_posted",
      stateBefore: current.state,
      stateAfter: current.state,
      details: { channel: current.channel, ts: posted.ts },
    });
  });
}

async function updateCard(deps: Deps, row: ExceptionRow): Promise<void> {
  if (!row.cardTs) return;
  const card = renderCard(row, extrasFor(deps, row));
  await deps.slack.chat.update({
    channel: row.channel,
    ts: row.cardTs,
    text: card.text,
    blocks: card.blocks as never,
  });
}

function extrasFor(deps: Deps, row: ExceptionRow): CardExtras {
  return { context: (deps.cardDecorators ?? []).flatMap((decorate) => decorate(row) ?? []) };
}

/** A one-line note in the card's thread; failures are logged, the state change stands. */
export async function postThreadNote(deps: Deps, row: ExceptionRow, text: string): Promise<void> {
  if (!row.cardTs) return;
  try {
    await deps.slack.chat.postMessage({
      channel: row.channel,
      thread_ts: row.cardTs,
      text,
      unfurl_links: false,
    });
  } catch (error) {
    deps.logger.warn({ exceptionId: row.id, err: error }, "could not post thread note");
  }
}
