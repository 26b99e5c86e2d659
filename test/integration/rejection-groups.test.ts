/**
 * Rejected events go to the team that sent them, grouped: a producer's bad events are one
 * card per problem, with a count, in the channel of the role its `producers:` rule names
 * (the default role's when none does), and a flood of them never holds up another team's
 * cards, with Slack's real per-channel pace enforced by the fake.
 */
import { fileURLToPath } from "node:url";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { rejectedEvents, rejectionGroups } from "../../src/platform/db/schema.js";
import { queueMessage } from "../../src/platform/slack/outbox-message.js";
import { DEFAULT_SLACK_LIMITS, type SlackLimits } from "../../src/platform/slack/rate-limits.js";
import { FAST_OUTBOX, FAST_SLACK_LIMITS } from "../support/fast-slack.js";
import { eventually, failureEvent, type Harness } from "../support/harness.js";
import { textOf } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const ROUTING = fileURLToPath(new URL("../fixtures/routing.producers.yml", import.meta.url));

/** Slack's own chat.postMessage pace (about one a second per channel, short bursts). */
const SLACK_PACE: Partial<SlackLimits> = {
  ...FAST_SLACK_LIMITS,
  methods: {
    ...FAST_SLACK_LIMITS.methods,
    "chat.postMessage": DEFAULT_SLACK_LIMITS.methods["chat.postMessage"] ?? [],
  },
};

const h = useHarness({
  routingFile: ROUTING,
  env: { STORM_THRESHOLD: "1000", CONTRACT_DOCS_URL: "https://git.example/syncdesk/blob/main" },
  start: { slackLimits: SLACK_PACE, slackOutbox: { ...FAST_OUTBOX, rejectionWindowMs: 500 } },
});
const db = () => h.bot.deps.db;

const rejectionCards = (channel: string) =>
  h.fake
    .messages(channel)
    .filter((m) => (m.metadata as { event_type?: string })?.event_type === "syncdesk_rejections");
const exceptionCards = (channel: string) =>
  h.fake
    .messages(channel)
    .filter((m) => (m.metadata as { event_type?: string })?.event_type === "syncdesk_exception");

/** `n` events missing their sku from one producer, straight onto the failure queue. */
async function flood(hh: Harness, sourceSystem: string, n: number, tag: string) {
  const jobs = Array.from({ length: n }, (_, i) => {
    const { sku: _sku, ...bad } = failureEvent({ sourceSystem, eventId: `${tag}-${i}` });
    return { name: "sync.failed", data: bad, opts: { jobId: `${tag}-${i}` } };
  });
  for (let i = 0; i < jobs.length; i += 250)
    await hh.bot.deps.queues.failures.addBulk(jobs.slice(i, i + 250));
}

describe("rejected events, grouped by producer and problem", () => {
  it("makes 1,000 bad events from one producer one card, with the count, in its role's channel", async () => {
    h.fake.limitRate("chat.postMessage", { intervalMs: 1000, burst: 4, scope: "channel" });
    await flood(h, "ads-feed-connector", 1000, "thousand");

    const group = await eventually(
      async () => {
        const [row] = await db()
          .select()
          .from(rejectionGroups)
          .where(eq(rejectionGroups.producer, "ads-feed-connector"));
        return row && row.count === 1000 ? row : null;
      },
      120_000,
      "1000 rejections counted",
    );
    expect(group).toMatchObject({ role: "ads-ops", channel: "C0ADS", kind: "failure" });
    const card = await eventually(
      async () => rejectionCards("C0ADS").find((m) => textOf(m).includes("*1000 events rejected*")),
      30_000,
      "the card redrawn with the count",
    );
    expect(rejectionCards("C0ADS")).toHaveLength(1);
    expect(rejectionCards("C0FULFILL")).toEqual([]);
    expect(textOf(card)).toContain("from `ads-feed-connector`");
    expect(textOf(card)).toContain("`sku`");
    expect(textOf(card)).toContain(
      "<https://git.example/syncdesk/blob/main/contract/failure-event.v1.schema.json|JSON Schema>",
    );
    // Nothing lost: every event is stored as received, in the group.
    const stored = await db()
      .select({ id: rejectedEvents.id })
      .from(rejectedEvents)
      .where(eq(rejectedEvents.groupId, group.id));
    expect(stored).toHaveLength(1000);
    expect(h.fake.callsTo("chat.postMessage").filter((c) => c.status === 429)).toEqual([]);
  }, 180_000);

  it("sends an unmapped producer's rejections to the default role, one card per problem", async () => {
    await h.reportRaw({ ...failureEvent({ sourceSystem: "wms-x" }), attempts: -1 }, "unmapped-1");
    await h.reportRaw({ ...failureEvent({ sourceSystem: "wms-x" }), attempts: -2 }, "unmapped-2");
    await h.reportRaw({ ...failureEvent({ sourceSystem: "wms-x" }), client: 7 }, "unmapped-3");
    await eventually(
      async () =>
        rejectionCards("C0FULFILL").filter((m) => textOf(m).includes("`wms-x`")).length === 2 &&
        rejectionCards("C0FULFILL").some((m) => textOf(m).includes("*2 events rejected*")),
      20_000,
      "two cards for wms-x: attempts (2) and client (1)",
    );
    expect(rejectionCards("C0ADS").filter((m) => textOf(m).includes("wms-x"))).toEqual([]);
  });

  it("posts another team's ordinary card within 5 s during a 200-event flood of bad events", async () => {
    h.fake.limitRate("chat.postMessage", { intervalMs: 1000, burst: 4, scope: "channel" });
    // Unmapped: the flood's card goes to the default role's channel, C0FULFILL.
    await flood(h, "broken-erp", 200, "flood");
    await eventually(async () =>
      rejectionCards("C0FULFILL").some((m) => textOf(m).includes("broken-erp")),
    );
    const reportedAt = Date.now();
    // ads-ops' own failure, in C0ADS, while the flood is still being taken in and carded.
    await h.report(
      failureEvent({ sku: "SKU-FAIR-ADS", targetSystem: "ads.google", failureMode: "throttled" }),
    );
    await eventually(
      async () => exceptionCards("C0ADS").some((m) => textOf(m).includes("SKU-FAIR-ADS")),
      5_000,
      "ads-ops' card within 5 s",
    );
    expect(Date.now() - reportedAt).toBeLessThan(5_000);
  }, 60_000);
});

describe("the outbox relay, one channel at a time", () => {
  it("sends a message to one channel while forty others wait on another channel's pace", async () => {
    h.fake.reset();
    h.fake.limitRate("chat.postMessage", { intervalMs: 1000, burst: 4, scope: "channel" });
    await db().transaction(async (tx) => {
      for (let i = 0; i < 40; i++) {
        await queueMessage(tx, {
          lane: `flood-${i}`,
          channel: "C0FLOOD",
          dedupeKey: `flood-${i}`,
          text: `flood ${i}`,
        });
      }
    });
    await eventually(
      async () => h.fake.messages("C0FLOOD").length >= 4,
      10_000,
      "the flood started",
    );
    const queuedAt = Date.now();
    await queueMessage(db(), {
      lane: "other-team",
      channel: "C0OTHER",
      dedupeKey: "other-team-1",
      text: "for the other team",
    });
    await eventually(
      async () => h.fake.messages("C0OTHER").length === 1,
      5_000,
      "the other message",
    );
    expect(Date.now() - queuedAt).toBeLessThan(5_000);
    // The flood is still paced into its channel, not dropped.
    await eventually(async () => h.fake.messages("C0FLOOD").length === 40, 60_000, "all forty");
  }, 90_000);
});
