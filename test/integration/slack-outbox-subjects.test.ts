/**
 * The last direct Slack writes, now through the outbox: storm thread notes, rejected-event
 * group cards (and their "Mark reviewed" redraw), routing approval cards (and the decision's redraw
 * and note) and the weekly digest. Each waits out a Slack outage and then goes out once, in
 * order; a crash between Slack's answer and recording it (a Postgres fault injected on the
 * write that records it) never posts a second message; an edit of a message deleted in Slack
 * fails alone without holding up its lane.
 */
import { randomBytes } from "node:crypto";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { REVIEW_GROUP_ACTION } from "../../src/intake/rejection-card.js";
import { sendDigest } from "../../src/inventory/digest.job.js";
import {
  auditLog,
  digestDeliveries,
  rejectedEvents,
  rejectionGroups,
  slackOutbox,
} from "../../src/platform/db/schema.js";
import { queueMessage } from "../../src/platform/slack/outbox-message.js";
import { approveProposal } from "../../src/routing/decisions.service.js";
import { proposeChange } from "../../src/routing/versions.service.js";
import { eventually } from "../support/harness.js";
import {
  APPROVALS,
  approvalCard,
  cardPosted,
  edit,
  GOVERNED_TEXT,
  startGovernedHarness,
} from "../support/routing-helpers.js";
import { textOf, USERS } from "../support/slack-actions.js";
import { burst, clickStorm, storm, stormFormed } from "../support/storm-actions.js";
import { useHarness } from "../support/use-harness.js";

type Json = Record<string, unknown>;

const h = useHarness(() =>
  startGovernedHarness({
    env: { STORM_THRESHOLD: "3", STORM_WINDOW: "10m", DIGEST_CRON: "off" },
  }),
);

const db = () => h.bot.deps.db;

const laneRows = (lane: string) =>
  db().select().from(slackOutbox).where(eq(slackOutbox.lane, lane)).orderBy(asc(slackOutbox.id));

const openIn = async (lanes: string[]) =>
  db()
    .select()
    .from(slackOutbox)
    .where(
      and(inArray(slackOutbox.lane, lanes), inArray(slackOutbox.state, ["pending", "sending"])),
    );

/** Slack has refused the lane's head a few times: it is waiting, not lost. */
const waitingOn = (lane: string) =>
  eventually(
    async () => (await laneRows(lane)).some((row) => row.attempts >= 2 && row.state !== "sent"),
    10_000,
    `repeated attempts in ${lane}`,
  );

const drained = (lanes: string[]) =>
  eventually(
    async () => (await openIn(lanes)).length === 0,
    15_000,
    `nothing left in ${lanes.join(", ")}`,
  );

/**
 * The first update of `table` matching `when` fails after Slack answered, as if the process
 * died before recording the message: the outbox row stays `sending` and is reconciled.
 */
async function crashOnce(name: string, table: string, when: string): Promise<void> {
  await db().execute(
    sql.raw(`
    create sequence ${name}_seq;
    create function ${name}() returns trigger language plpgsql as $$
    begin
      if ${when} then
        if nextval('${name}_seq') = 1 then
          raise exception 'injected crash after Slack answered';
        end if;
      end if;
      return new;
    end $$;
    create trigger ${name} before update on ${table}
      for each row execute function ${name}();`),
  );
}

const withDedupeKey = (key: string) => (m: Json) =>
  (m.metadata as { event_payload?: Json } | undefined)?.event_payload?.dedupe_key === key;

describe("storm thread notes", () => {
  const stormNotes = async (stormId: number, text: string) => {
    const row = await storm(h, stormId);
    return h.fake
      .threadReplies(row.channel, row.cardTs ?? "")
      .filter((m) => String(m.text).includes(text));
  };

  it("tells of a claim made while Slack was down once it is back, once", async () => {
    await burst(h, 4, { client: "outbox-storm-down", failureMode: "throttled" });
    const formed = await stormFormed(h, "outbox-storm-down");
    h.fake.setDown(true);
    try {
      const click = await clickStorm(h, USERS.alice, formed.id, "claim");
      expect(click.status).toBe(200);
      await eventually(async () => (await storm(h, formed.id)).claimedBy === USERS.alice);
      await waitingOn(`storm-${formed.id}`);
      expect(await stormNotes(formed.id, "claimed this storm")).toHaveLength(0);
    } finally {
      h.fake.setDown(false);
    }
    await drained([`storm-${formed.id}`]);
    const notes = await stormNotes(formed.id, "claimed this storm");
    expect(notes.map((m) => String(m.text))).toEqual([
      expect.stringContaining("*alice* claimed this storm"),
    ]);
  });

  it("finds a note already posted after a crash instead of posting it twice", async () => {
    await burst(h, 4, { client: "outbox-storm-crash", failureMode: "throttled" });
    const formed = await stormFormed(h, "outbox-storm-crash");
    await crashOnce(
      "crash_storm_note",
      "slack_outbox",
      // The note, not the card's redraws that share its lane.
      `new.lane = 'storm-${formed.id}' and new.kind = 'message' and new.state = 'sent'`,
    );
    const looked = h.fake.callsTo("conversations.replies").length;
    await clickStorm(h, USERS.bob, formed.id, "claim");
    await eventually(async () => (await storm(h, formed.id)).claimedBy === USERS.bob);
    await eventually(async () => {
      const notes = (await laneRows(`storm-${formed.id}`)).filter((row) => row.kind === "message");
      return notes[0]?.state === "sent";
    });
    expect(await stormNotes(formed.id, "claimed this storm")).toHaveLength(1);
    expect(h.fake.callsTo("conversations.replies").length).toBeGreaterThan(looked);
  });
});

describe("rejected-event cards", () => {
  /** The group of a producer's rejections, once its card is posted when `posted`. */
  const groupOf = (producer: string, posted = true) =>
    eventually(async () => {
      const [row] = await db()
        .select()
        .from(rejectionGroups)
        .where(eq(rejectionGroups.producer, producer));
      return row && (!posted || row.cardTs) ? row : null;
    });
  const cardsFor = (channel: string, producer: string) =>
    h.fake
      .messages(channel)
      .filter(
        (m) =>
          (m.metadata as { event_type?: string })?.event_type === "syncdesk_rejections" &&
          String(m.text).includes(producer),
      );
  const markReviewed = (userId: string, group: { id: number; channel: string }) =>
    h.slack.blockAction({
      userId,
      channelId: group.channel,
      messageTs: "1700000000.000100",
      actionId: REVIEW_GROUP_ACTION,
      value: String(group.id),
      responseUrl: h.fake.responseUrl(randomBytes(6).toString("hex")),
    });

  it("posts the card once Slack is back, after a Mark reviewed that came while it was down", async () => {
    h.fake.setDown(true);
    let group: typeof rejectionGroups.$inferSelect;
    try {
      await h.reportRaw(
        { eventId: "evt-outbox-down", sourceSystem: "src-down" },
        "outbox-rejected-down",
      );
      group = await groupOf("src-down", false);
      await waitingOn(`rejections-${group.id}`);
      // The card is not there yet; the reviewer works from the rejection itself.
      expect((await markReviewed(USERS.alice, group)).status).toBe(200);
      await eventually(async () => (await groupOf("src-down", false)).reviewedBy === USERS.alice);
    } finally {
      h.fake.setDown(false);
    }
    await drained([`rejections-${group.id}`]);
    const cards = cardsFor(group.channel, "src-down");
    expect(cards).toHaveLength(1);
    // Posted from the row as it is when sent: the card shows the review, without the button.
    expect(textOf(cards[0]!)).toContain("Reviewed by <@U0ALICE>");
    expect(JSON.stringify(cards[0]!.blocks)).not.toContain(REVIEW_GROUP_ACTION);
    expect((await groupOf("src-down")).cardTs).toBe(cards[0]!.ts);
    const [event] = await db()
      .select()
      .from(rejectedEvents)
      .where(eq(rejectedEvents.sourceJobId, "outbox-rejected-down"));
    expect(event?.reviewedBy).toBe(USERS.alice);
  });

  it("adopts the card already posted after a crash instead of posting a second", async () => {
    await crashOnce(
      "crash_rejected",
      "rejection_groups",
      "new.producer = 'src-crash' and new.card_ts is not null and old.card_ts is null",
    );
    const looked = h.fake.callsTo("conversations.history").length;
    await h.reportRaw(
      { eventId: "evt-outbox-crash", sourceSystem: "src-crash" },
      "outbox-rejected-crash",
    );
    const group = await groupOf("src-crash");
    const cards = cardsFor(group.channel, "src-crash");
    expect(cards).toHaveLength(1);
    expect(group.cardTs).toBe(cards[0]!.ts);
    expect(h.fake.callsTo("conversations.history").length).toBeGreaterThan(looked);
  });

  it("gives up a redraw of a card deleted in Slack, and its lane goes on", async () => {
    await h.reportRaw(
      { eventId: "evt-outbox-gone", sourceSystem: "src-gone" },
      "outbox-rejected-gone",
    );
    const group = await groupOf("src-gone");
    await h.bot.deps.slack.chat.delete({ channel: group.cardChannel!, ts: group.cardTs! });
    expect((await markReviewed(USERS.bob, group)).status).toBe(200);
    const lane = `rejections-${group.id}`;
    await eventually(async () => (await laneRows(lane)).some((r) => r.state === "failed"));
    // Something queued behind it in the lane still goes out.
    await queueMessage(db(), {
      lane,
      channel: group.channel,
      dedupeKey: `after-${group.id}`,
      text: "after the failed redraw",
    });
    await drained([lane]);
    expect((await laneRows(lane)).map((r) => [r.state, r.lastError])).toEqual([
      ["sent", null],
      ["failed", "message_not_found"],
      ["sent", null],
    ]);
    expect(h.fake.messages(group.channel).some(withDedupeKey(`after-${group.id}`))).toBe(true);
    // The review itself stands.
    expect((await groupOf("src-gone")).reviewedBy).toBe(USERS.bob);
  });
});

describe("routing approval cards", () => {
  const cardsOf = (version: number) =>
    h.fake.messages(APPROVALS).filter(withDedupeKey(`routing-v${version}-card`));
  const postedAudits = async (version: number) =>
    (await db().select().from(auditLog).where(eq(auditLog.action, "routing.card_posted"))).filter(
      (a) => (a.details as { version?: number }).version === version,
    );

  it("posts a card held back by Slack once, with the decision drawn on it and noted in its thread", async () => {
    h.fake.failNext("chat.postMessage", { status: 503, times: Number.POSITIVE_INFINITY });
    let version: number;
    try {
      const proposed = await proposeChange(h.bot.deps, {
        text: edit(GOVERNED_TEXT, "claim: 30m", "claim: 25m"),
        author: USERS.carol,
        reason: "ads answer faster",
        via: "cli",
      });
      if (!proposed.ok) throw new Error(`proposal refused: ${JSON.stringify(proposed)}`);
      version = proposed.row.version;
      await waitingOn(`routing-v${version}`);
      const decided = await approveProposal(h.bot.deps, {
        version,
        actor: "U0ADMIN",
        via: "cli",
      });
      expect(decided.ok).toBe(true);
      expect(cardsOf(version)).toHaveLength(0);
    } finally {
      h.fake.clearFaults("chat.postMessage");
    }
    const row = await cardPosted(h, version);
    const cards = cardsOf(version);
    expect(cards).toHaveLength(1);
    expect(row.approvalTs).toBe(cards[0]!.ts);
    expect(await approvalCard(h, version)).toContain("Approved and active");
    const thread = h.fake.threadReplies(APPROVALS, row.approvalTs!).map((m) => String(m.text));
    expect(thread).toEqual([expect.stringContaining("Approved by <@U0ADMIN>")]);
    expect(await postedAudits(version)).toHaveLength(1);
  });

  it("adopts the card already posted after a crash instead of posting a second", async () => {
    await crashOnce(
      "crash_approval",
      "routing_versions",
      "new.approval_ts is not null and old.approval_ts is null",
    );
    const looked = h.fake.callsTo("conversations.history").length;
    const proposed = await proposeChange(h.bot.deps, {
      text: edit(GOVERNED_TEXT, "claim: 30m", "claim: 20m"),
      author: USERS.carol,
      reason: "ads answer faster still",
      via: "cli",
    });
    if (!proposed.ok) throw new Error(`proposal refused: ${JSON.stringify(proposed)}`);
    const { version } = proposed.row;
    const row = await cardPosted(h, version);
    expect(cardsOf(version)).toHaveLength(1);
    expect(row.approvalTs).toBe(cardsOf(version)[0]!.ts);
    expect(await postedAudits(version)).toHaveLength(1);
    expect(h.fake.callsTo("conversations.history").length).toBeGreaterThan(looked);
  });
});

describe("the weekly digest", () => {
  const targets = () => {
    const { config } = h.bot.deps.routing.current();
    return Object.values(config.roles).flatMap((role) => [role.channel, ...role.managers]);
  };
  /** Where a target's messages show: a user id's are in the app's DM with them. */
  const shownIn = (target: string) => (/^[UW]/.test(target) ? `D${target}` : target);
  const digestsIn = (target: string) =>
    h.fake.messages(shownIn(target)).filter((m) => String(m.text).startsWith("Weekly digest for"));
  const lanes = () => targets().map((target) => `digest-${target}`);
  const deliveries = (key: string) =>
    db().select().from(digestDeliveries).where(eq(digestDeliveries.digestKey, key));

  it("waits out a Slack outage and then goes out once per target, however often the tick runs", async () => {
    const key = "2026-11-30T08:00:00.000Z";
    const before = new Map(targets().map((t) => [t, digestsIn(t).length]));
    h.fake.setDown(true);
    try {
      const first = await sendDigest(h.bot.deps, key);
      expect(first).toEqual({ key, sent: targets().length, skipped: 0 });
      await waitingOn(`digest-${targets()[0]}`);
      // The job redelivered while Slack is down queues nothing more.
      expect(await sendDigest(h.bot.deps, key)).toEqual({
        key,
        sent: 0,
        skipped: targets().length,
      });
    } finally {
      h.fake.setDown(false);
    }
    await drained(lanes());
    for (const target of targets()) {
      expect(digestsIn(target).length - (before.get(target) ?? 0), target).toBe(1);
    }
    const recorded = await deliveries(key);
    expect(recorded).toHaveLength(targets().length);
    for (const delivery of recorded) {
      expect(digestsIn(delivery.target).at(-1)?.ts).toBe(delivery.ts);
    }
  });

  it("finds a digest already posted after a crash instead of posting it twice", async () => {
    const key = "2026-12-07T08:00:00.000Z";
    const manager = targets().find((t) => t.startsWith("U")) as string;
    await crashOnce(
      "crash_digest",
      "digest_deliveries",
      `new.digest_key = '${key}' and new.target = '${manager}' and new.ts is not null and old.ts is null`,
    );
    const before = digestsIn(manager).length;
    const looked = h.fake.callsTo("conversations.history").length;
    await sendDigest(h.bot.deps, key);
    await drained(lanes());
    expect(digestsIn(manager).length - before).toBe(1);
    const [recorded] = (await deliveries(key)).filter((d) => d.target === manager);
    expect(recorded?.ts).toBe(digestsIn(manager).at(-1)?.ts);
    expect(h.fake.callsTo("conversations.history").length).toBeGreaterThan(looked);
  });
});
