/**
 * A storm ends after a quiet window: no new member for STORM_WINDOW. Its card says so, its
 * thread says so, the audit records it, and the next failure of the kind posts its own card.
 */
import { describe, expect, it } from "vitest";
import { eventually, failureEvent } from "../support/harness.js";
import { textOf } from "../support/slack-actions.js";
import {
  burst,
  membersOf,
  storm,
  stormAudit,
  stormCard,
  stormFormed,
  stormsOf,
} from "../support/storm-actions.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({ env: { STORM_THRESHOLD: "2", STORM_WINDOW: "3s" } });

describe("the end of a storm", () => {
  it("stays open while members keep coming, then ends after the quiet window", async () => {
    const kind = { client: "calm-after", failureMode: "throttled" as const };
    await burst(h, 3, kind);
    const formed = await stormFormed(h, "calm-after");
    const startedAt = Date.now();
    // New members keep it open past its first check (3 s after forming).
    for (let i = 0; i < 3; i++) {
      await burst(h, 1, kind);
      const members = 4 + i;
      await eventually(async () => (await membersOf(h, formed.id)).length === members);
      await eventually(async () => Date.now() - startedAt >= (i + 1) * 1200, 5000, "a while");
    }
    // Past its first check (3 s after forming), it is still open: members kept coming.
    const open = await storm(h, formed.id);
    expect(Date.now() - open.formedAt.getTime()).toBeGreaterThan(3000);
    expect(open.state).toBe("open");

    const ended = await eventually(
      async () => {
        const row = await storm(h, formed.id);
        return row.state === "ended" ? row : null;
      },
      15_000,
      "the storm to end",
    );
    // It ended a whole quiet window after its last member, not at its first check.
    expect(ended.endedAt!.getTime() - ended.lastMemberAt.getTime()).toBeGreaterThanOrEqual(3000);
    await eventually(async () => textOf(await stormCard(h, formed.id)).includes("Storm over"));
    await eventually(
      async () =>
        h.fake
          .threadReplies(ended.channel, ended.cardTs!)
          .some((m) => String(m.text).includes("Storm over")),
      5000,
      "a thread note saying the storm is over",
    );
    expect(await stormAudit(h, formed.id, "storm_ended")).toHaveLength(1);

    // The next failure of the kind is on its own again.
    await h.report(failureEvent({ ...kind, sku: "AFTER-STORM" }));
    const [after] = await eventually(async () => {
      const rows = await h.exceptionsFor("AFTER-STORM");
      return rows[0]?.cardTs ? rows : null;
    });
    expect(after!.stormId).toBeNull();
    expect(await stormsOf(h, "calm-after")).toHaveLength(1);
  });

  it("says the storm is over once Slack answers again, if it ended while Slack was down", async () => {
    await burst(h, 3, { client: "calm-offline", failureMode: "auth" });
    const formed = await stormFormed(h, "calm-offline");
    h.fake.setDown(true);
    try {
      await eventually(
        async () => (await storm(h, formed.id)).state === "ended",
        15_000,
        "the storm to end",
      );
      expect(textOf(await stormCard(h, formed.id))).not.toContain("Storm over");
    } finally {
      h.fake.setDown(false);
    }
    await eventually(
      async () => textOf(await stormCard(h, formed.id)).includes("Storm over"),
      15_000,
      "the card to say the storm is over",
    );
  });
});
