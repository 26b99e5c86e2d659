/**
 * Containment: a Retry click adds the event's `retry.data` as a job on the queue the event
 * names, with syncdesk's Redis credentials. An event naming the desk's own queues, or any queue
 * the routing file does not list in `retryQueues`, is refused on arrival and kept as a rejected
 * event saying why; it never becomes a card with a Retry button.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { failureJobId } from "../../src/intake/failure-event.schema.js";
import { exceptions, rejectedEvents, rejectionGroups } from "../../src/platform/db/schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import { buttonsOf, cardOf, DESK, textOf } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({ ...DESK, env: { STORM_THRESHOLD: "1000" } });

async function rejectionOf(eventId: string) {
  return eventually(
    async () => {
      const [row] = await h.bot.deps.db
        .select()
        .from(rejectedEvents)
        .where(eq(rejectedEvents.sourceJobId, failureJobId(eventId)));
      if (!row?.groupId) return null;
      const [group] = await h.bot.deps.db
        .select()
        .from(rejectionGroups)
        .where(eq(rejectionGroups.id, row.groupId));
      // Its group's card: where this event's problem is shown.
      return group?.cardTs ? { ...row, channel: group.cardChannel, cardTs: group.cardTs } : null;
    },
    10_000,
    `rejection of ${eventId}`,
  );
}

describe("an event whose retry names a queue it may not", () => {
  it.each([
    ["syncdesk", "names syncdesk's own queue"],
    ["inventory-sync-failures", "names syncdesk's own queue"],
    ["inventory-sync-outcomes", "names syncdesk's own queue"],
    ["billing-payouts", "is not a retry queue the routing file allows"],
  ])("naming %s is refused on arrival and kept with the reason", async (queue, reason) => {
    const event = failureEvent({ retry: { queue, name: "anything", data: { x: 1 } } });
    await h.report(event);
    const row = await rejectionOf(event.eventId);
    expect(row.errors).toEqual([{ path: "retry.queue", message: expect.stringContaining(reason) }]);
    expect(row.rawText).toContain(queue);
    // No exception, so no card and no Retry button to click.
    const opened = await h.bot.deps.db
      .select()
      .from(exceptions)
      .where(eq(exceptions.sku, event.sku));
    expect(opened).toEqual([]);
    // The rejected card in Slack says what was wrong.
    const card = h.fake.messages(row.channel ?? "").find((m) => m.ts === row.cardTs);
    expect(textOf(card!)).toContain("retry.queue");
  });
});

describe("an event whose retry names an allowed queue", () => {
  it("opens an exception whose card offers Retry", async () => {
    const event = failureEvent({
      retry: { queue: "storefront-sync", name: "sync.sku", data: { sku: "SKU-OK" } },
    });
    await h.report(event);
    const [row] = await eventually(async () => {
      const rows = await h.exceptionsFor(event.sku);
      return rows[0]?.cardTs ? rows : null;
    });
    const card = await cardOf(h, row!.id);
    expect(buttonsOf(card)).toContain("Retry");
  });
});
