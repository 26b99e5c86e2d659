/**
 * The Slack outbox, end to end: while Slack is down every card, card refresh and thread note
 * waits in Postgres and goes out when it is back, in order per card and once each; rapid
 * changes to a card collapse into few chat.updates that end on the latest state; a crash
 * between a post and recording it (played by a Postgres fault) never makes a second card or
 * a second note; DMs are deduplicated and a refused one does not block the next.
 */
import { randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/exceptions/card.js";
import { auditLog, failureEvents, slackOutbox } from "../../src/platform/db/schema.js";
import { queueDirectMessage } from "../../src/platform/slack/outbox-message.js";
import { eventually, failureEvent } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

type Json = Record<string, unknown>;

const h = useHarness({
  env: { STORM_THRESHOLD: "1000" },
  start: { slackOutbox: { pollMs: 200, backoffMs: 100, maxBackoffMs: 500, cardWindowMs: 2000 } },
});

/** Every text in a message's blocks (and its fallback), for "what does the card say". */
function shown(message: Json | undefined): string {
  const texts: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "text" && typeof value === "string") texts.push(value);
        else walk(value);
      }
    }
  };
  walk(message?.blocks);
  return [String(message?.text ?? ""), ...texts].join("\n");
}

const cardsOf = (channel: string, exceptionId: number) =>
  h.fake.messages(channel).filter((m) => {
    const meta = m.metadata as { event_type?: string; event_payload?: Json } | undefined;
    return (
      meta?.event_type === "syncdesk_exception" &&
      Number(meta.event_payload?.exception_id) === exceptionId
    );
  });

async function withCard(sku: string) {
  return eventually(
    async () => {
      const [row] = await h.exceptionsFor(sku);
      return row?.cardTs ? row : null;
    },
    10_000,
    `the card of ${sku}`,
  );
}

async function press(userId: string, exceptionId: number, button: "claim" | "unclaim") {
  const row = await h.exception(exceptionId);
  const res = await h.slack.blockAction({
    userId,
    userName: userId.slice(2).toLowerCase(),
    channelId: row.channel,
    messageTs: row.cardTs ?? "1700000000.000100",
    actionId: ACTIONS[button],
    value: String(exceptionId),
  });
  expect(res.status).toBe(200);
}

const openRows = (exceptionId?: number) =>
  h.bot.deps.db
    .select()
    .from(slackOutbox)
    .where(
      and(
        sql`${slackOutbox.state} in ('pending', 'sending')`,
        exceptionId === undefined ? undefined : eq(slackOutbox.exceptionId, exceptionId),
      ),
    );

describe("Slack down, then back", () => {
  it("delivers every card, refresh and note when Slack returns, in order per card, none twice", async () => {
    const claimed = await (async () => {
      await h.report(failureEvent({ sku: "SKU-DOWN-1" }));
      return withCard("SKU-DOWN-1");
    })();
    const repeat = failureEvent({ sku: "SKU-DOWN-2" });
    await h.report(repeat);
    const counted = await withCard("SKU-DOWN-2");

    h.fake.setDown(true);
    await press("U0ALICE", claimed.id, "claim");
    await eventually(async () => (await h.exception(claimed.id)).claimedBy === "U0ALICE");
    await press("U0ALICE", claimed.id, "unclaim");
    await eventually(async () => (await h.exception(claimed.id)).state === "open");
    await press("U0BOB", claimed.id, "claim");
    await eventually(async () => (await h.exception(claimed.id)).claimedBy === "U0BOB");
    await h.report({ ...repeat, eventId: `evt-${randomUUID()}` });
    await eventually(async () => (await h.exception(counted.id)).occurrences === 2);
    const fresh = failureEvent({ sku: "SKU-DOWN-3" });
    await h.report(fresh);
    const [born] = await eventually(async () => {
      const rows = await h.exceptionsFor("SKU-DOWN-3");
      return rows.length ? rows : null;
    });
    await h.reportOutcome({
      kind: "sync.succeeded",
      client: fresh.client,
      sku: fresh.sku,
      targetSystem: fresh.targetSystem,
      occurredAt: new Date().toISOString(),
    });
    await eventually(async () => (await h.exception(born!.id)).state === "resolved");
    // Slack has been failing for a while: rows were tried and are waiting, nothing went out.
    await eventually(
      async () => (await openRows()).some((row) => row.attempts >= 3),
      10_000,
      "repeated attempts while Slack is down",
    );
    expect(await h.exception(born!.id)).toMatchObject({ cardTs: null });

    h.fake.setDown(false);
    await eventually(async () => (await openRows()).length === 0, 15_000, "an empty outbox");

    // The claimed card: one card, final state, three notes in the order they happened.
    const [card] = cardsOf("C0FULFILL", claimed.id);
    expect(cardsOf("C0FULFILL", claimed.id)).toHaveLength(1);
    expect(shown(card)).toContain("*Claimed* by <@U0BOB>");
    const notes = h.fake.threadReplies("C0FULFILL", String(card!.ts)).map((m) => String(m.text));
    expect(notes).toHaveLength(3);
    expect(notes[0]).toMatch(/\*alice\* claimed/);
    expect(notes[1]).toMatch(/\*alice\* released/);
    expect(notes[2]).toMatch(/\*bob\* claimed/);
    // The repeated failure: the card counts both occurrences.
    expect(cardsOf("C0FULFILL", counted.id)).toHaveLength(1);
    expect(shown(cardsOf("C0FULFILL", counted.id)[0])).toContain("*Occurrences*\n2");
    // Born and resolved while Slack was down: posted once, resolved, its note in its thread.
    const bornCards = cardsOf("C0FULFILL", born!.id);
    expect(bornCards).toHaveLength(1);
    expect(shown(bornCards[0])).toContain("Resolved");
    const bornNotes = h.fake.threadReplies("C0FULFILL", String(bornCards[0]!.ts));
    expect(bornNotes.map((m) => String(m.text))).toEqual([
      expect.stringContaining("later sync of this SKU succeeded"),
    ]);
    expect((await h.exception(born!.id)).cardTs).toBe(bornCards[0]!.ts);
  });
});

describe("coalesced card updates", () => {
  it("folds 10 rapid changes into a few chat.updates, 2 s apart, ending on the latest state", async () => {
    const replica = await h.startAnother(["worker"]);
    const first = failureEvent({ sku: "SKU-COALESCE" });
    await h.report(first);
    const row = await withCard("SKU-COALESCE");
    const since = h.fake.calls.length;
    for (let i = 0; i < 10; i++) await h.report({ ...first, eventId: `evt-${randomUUID()}` });
    await eventually(async () => (await h.exception(row.id)).occurrences === 11);
    await eventually(async () => (await openRows(row.id)).length === 0, 15_000, "drained lane");

    const updates = h.fake.calls
      .slice(since)
      .filter((c) => c.method === "chat.update" && c.body.ts === row.cardTs);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < updates.length; i++) {
      expect(updates[i]!.at.getTime() - updates[i - 1]!.at.getTime()).toBeGreaterThanOrEqual(1950);
    }
    expect(shown(updates.at(-1)?.body)).toContain("*Occurrences*\n11");
    expect(shown(cardsOf("C0FULFILL", row.id)[0])).toContain("*Occurrences*\n11");
    // The first update went out at once, not at the end of a window.
    const [firstRepeat] = await h.bot.deps.db
      .select({ at: failureEvents.receivedAt })
      .from(failureEvents)
      .where(and(eq(failureEvents.exceptionId, row.id), sql`event_id <> ${first.eventId}`))
      .orderBy(failureEvents.receivedAt)
      .limit(1);
    expect(updates[0]!.at.getTime() - firstRepeat!.at.getTime()).toBeLessThan(1000);
    await replica.stop();
  });
});

describe("a crash between the post and recording it", () => {
  it("adopts the card already posted instead of posting a second one", async () => {
    // The first write of card_ts for this SKU fails, as if the process died right after Slack
    // answered: the post happened, our record of it did not.
    await h.bot.deps.db.execute(
      sql.raw(`
      create sequence crash_card_seq;
      create function crash_card() returns trigger language plpgsql as $$
      begin
        if new.sku = 'SKU-CRASH' and new.card_ts is not null and old.card_ts is null
           and nextval('crash_card_seq') = 1 then
          raise exception 'injected crash after chat.postMessage';
        end if;
        return new;
      end $$;
      create trigger crash_card before update on exceptions
        for each row execute function crash_card();`),
    );
    await h.report(failureEvent({ sku: "SKU-CRASH" }));
    const row = await withCard("SKU-CRASH");

    const cards = cardsOf("C0FULFILL", row.id);
    expect(cards).toHaveLength(1);
    expect(row.cardTs).toBe(cards[0]!.ts);
    expect(h.fake.callsTo("conversations.history").length).toBeGreaterThan(0);
    const posted = await h.bot.deps.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.exceptionId, row.id), eq(auditLog.action, "card_posted")));
    expect(posted).toHaveLength(1);
    expect(posted[0]!.details).toMatchObject({ ts: row.cardTs, how: "reconciled" });
  });

  it("finds its card under more than a thousand later messages in the channel", async () => {
    // card_ts cannot be recorded until the hold is lifted: the post reached Slack, and while
    // we are "down" the channel moves on by 1,200 messages.
    await h.bot.deps.db.execute(
      sql.raw(`
      create table buried_hold (held boolean);
      insert into buried_hold values (true);
      create function buried_card() returns trigger language plpgsql as $$
      begin
        if new.sku = 'SKU-BURIED' and new.card_ts is not null and old.card_ts is null
           and exists (select 1 from buried_hold) then
          raise exception 'injected crash after chat.postMessage';
        end if;
        return new;
      end $$;
      create trigger buried_card before update on exceptions
        for each row execute function buried_card();`),
    );
    await h.report(failureEvent({ sku: "SKU-BURIED" }));
    const [row] = await eventually(async () => {
      const rows = await h.exceptionsFor("SKU-BURIED");
      return rows[0] && cardsOf("C0FULFILL", rows[0].id).length > 0 ? rows : null;
    });
    for (let i = 0; i < 1200; i++) {
      const res = await fetch(`${h.env.SLACK_API_URL}chat.postMessage`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${h.env.SLACK_BOT_TOKEN}`,
          "content-type": "application/json; charset=utf-8",
        },
        body: JSON.stringify({ channel: "C0FULFILL", text: `chatter ${i}` }),
      });
      expect(res.status).toBe(200);
    }
    await h.bot.deps.db.execute(sql`delete from buried_hold`);

    const carded = await withCard("SKU-BURIED");
    expect(cardsOf("C0FULFILL", row!.id)).toHaveLength(1);
    expect(carded.cardTs).toBe(cardsOf("C0FULFILL", row!.id)[0]!.ts);
  });

  it("finds a thread note already posted instead of posting it twice", async () => {
    await h.report(failureEvent({ sku: "SKU-CRASH-NOTE" }));
    const row = await withCard("SKU-CRASH-NOTE");
    await h.bot.deps.db.execute(
      sql.raw(`
      create sequence crash_note_seq;
      create function crash_note() returns trigger language plpgsql as $$
      begin
        if new.kind = 'message' and new.exception_id = ${row.id} and new.state = 'sent'
           and nextval('crash_note_seq') = 1 then
          raise exception 'injected crash after the note was posted';
        end if;
        return new;
      end $$;
      create trigger crash_note before update on slack_outbox
        for each row execute function crash_note();`),
    );
    await press("U0ALICE", row.id, "claim");
    await eventually(async () => (await h.exception(row.id)).claimedBy === "U0ALICE");
    await eventually(async () => (await openRows(row.id)).length === 0, 10_000, "drained lane");

    const notes = h.fake.threadReplies("C0FULFILL", row.cardTs!);
    expect(notes.map((m) => String(m.text))).toEqual([expect.stringMatching(/\*alice\* claimed/)]);
    expect(h.fake.callsTo("conversations.replies").length).toBeGreaterThan(0);
  });
});

describe("direct messages", () => {
  it("sends a DM once however often it is queued, and a refused one does not block the next", async () => {
    const db = h.bot.deps.db;
    h.fake.failNext("chat.postMessage", { error: "user_not_found" });
    await queueDirectMessage(db, { user: "U0GHOST", dedupeKey: "dm-ghost-1", text: "lost" });
    await queueDirectMessage(db, { user: "U0GHOST", dedupeKey: "dm-ghost-2", text: "second" });
    await queueDirectMessage(db, { user: "U0GHOST", dedupeKey: "dm-ghost-2", text: "second" });
    await eventually(async () => h.fake.messages("DU0GHOST").length === 1, 10_000, "the DM");
    await eventually(async () => (await openRows()).length === 0);
    expect(h.fake.messages("DU0GHOST").map((m) => m.text)).toEqual(["second"]);
    const [refused] = await db
      .select()
      .from(slackOutbox)
      .where(eq(slackOutbox.dedupeKey, "dm-ghost-1"));
    expect(refused).toMatchObject({ state: "failed", lastError: "user_not_found" });
  });
});

describe("Slack coming back after a long outage", () => {
  // Backoff as after many failed attempts: the next try is 10-20 s away.
  const slow = useHarness({
    env: { STORM_THRESHOLD: "1000" },
    start: { slackOutbox: { pollMs: 200, backoffMs: 20_000, maxBackoffMs: 60_000 } },
  });

  it("sends what waited as soon as one call gets through, not at the end of each backoff", async () => {
    slow.fake.setDown(true);
    for (let i = 0; i < 3; i++) await slow.report(failureEvent({ sku: `SKU-BACK-${i}` }));
    await eventually(
      async () => {
        const rows = await slow.bot.deps.db
          .select()
          .from(slackOutbox)
          .where(sql`${slackOutbox.lastError} = 'http_503'`);
        return rows.length === 3;
      },
      10_000,
      "three cards backing off",
    );
    slow.fake.setDown(false);
    await slow.report(failureEvent({ sku: "SKU-BACK-NEW" }));
    await eventually(
      async () => {
        const skus = ["SKU-BACK-0", "SKU-BACK-1", "SKU-BACK-2", "SKU-BACK-NEW"];
        const rows = await Promise.all(skus.map((sku) => slow.exceptionsFor(sku)));
        return rows.every(([row]) => row?.cardTs);
      },
      5000,
      "every card, well before the 10 s backoff ends",
    );
    expect(slow.fake.messages("C0FULFILL").filter((m) => m.metadata !== undefined)).toHaveLength(4);
  });
});
