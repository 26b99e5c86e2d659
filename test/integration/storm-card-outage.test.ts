/**
 * The storm card through a Slack outage longer than any job's retry budget: the storm forms,
 * grows and is resolved while Slack answers nothing; when Slack is back, one card appears,
 * drawn from the rows as they are then.
 */
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { slackOutbox } from "../../src/platform/db/schema.js";
import { stormLane } from "../../src/storms/storm-cards.js";
import { FAST_OUTBOX } from "../support/fast-slack.js";
import { eventually } from "../support/harness.js";
import { buttonsOf, textOf, USERS } from "../support/slack-actions.js";
import {
  burst,
  membersOf,
  storm,
  stormAudit,
  stormCard,
  stormsOf,
  submitStormResolve,
} from "../support/storm-actions.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({
  env: { STORM_THRESHOLD: "3", STORM_WINDOW: "10m" },
  // Attempts come fast, so the outage outlasts a BullMQ job's 12 attempts within seconds.
  start: { slackOutbox: { ...FAST_OUTBOX, backoffMs: 10, maxBackoffMs: 50 } },
});

const stormPosts = (stormId: number) =>
  h.fake
    .callsTo("chat.postMessage")
    .filter(
      (call) =>
        call.status === 200 &&
        !call.body.thread_ts &&
        (call.body.metadata as { event_payload?: { storm_id?: number } } | undefined)?.event_payload
          ?.storm_id === stormId,
    );

const laneRows = (stormId: number) =>
  h.bot.deps.db
    .select()
    .from(slackOutbox)
    .where(eq(slackOutbox.lane, stormLane(stormId)));

describe("the storm card and a long Slack outage", () => {
  it("waits out the outage and then posts one card showing the latest state", async () => {
    h.fake.setDown(true);
    let stormId = 0;
    try {
      await burst(h, 6, { client: "outage-storm", failureMode: "auth" });
      const [formed] = await eventually(async () => {
        const rows = await stormsOf(h, "outage-storm");
        return rows.length ? rows : null;
      });
      stormId = formed!.id;
      await eventually(async () => (await membersOf(h, stormId)).length === 6);

      // Resolve all while Slack is down: the form is answered by us, not by Slack (alice is a listed member: no user group to look up).
      const meta = JSON.stringify({ stormId, channel: formed!.channel });
      const submit = await submitStormResolve(h, USERS.alice, meta, { note: "upstream fixed" });
      expect(submit.status).toBe(200);
      await eventually(
        async () => (await membersOf(h, stormId)).every((m) => m.state === "resolved"),
        10_000,
        "every member resolved",
      );

      // The card's outbox row keeps trying, past the 12 attempts the old job had.
      await eventually(
        async () => {
          const rows = await h.bot.deps.db
            .select()
            .from(slackOutbox)
            .where(
              and(eq(slackOutbox.lane, stormLane(stormId)), eq(slackOutbox.kind, "storm_card")),
            );
          return rows.some((row) => row.attempts > 12 && row.state !== "failed");
        },
        20_000,
        "the storm card to outlast 12 attempts",
      );
      expect((await storm(h, stormId)).cardTs).toBeNull();
      expect(stormPosts(stormId)).toHaveLength(0);
    } finally {
      h.fake.setDown(false);
    }

    // Slack is back: one card, with every member resolved and no buttons left.
    await eventually(
      async () => {
        if (!(await storm(h, stormId)).cardTs) return null;
        const card = await stormCard(h, stormId);
        const text = textOf(card);
        return text.includes(`*Resolve all* by <@${USERS.alice}>`) &&
          text.includes("resolved 6") &&
          buttonsOf(card).length === 0
          ? text
          : null;
      },
      15_000,
      "the storm card after the outage",
    );
    expect(stormPosts(stormId)).toHaveLength(1);
    expect(await stormAudit(h, stormId, "storm_card_posted")).toHaveLength(1);
    // Nothing is left waiting, and nothing was given up.
    await eventually(async () => {
      const rows = await laneRows(stormId);
      return rows.length > 0 && rows.every((row) => row.state === "sent");
    });
  });
});
