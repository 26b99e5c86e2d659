/**
 * Storm grouping, as a channel sees it: under the threshold every new failure posts its card;
 * one more within the window and a single storm card stands for all of them and keeps
 * counting; outside the window nothing groups; two intake workers still make one storm.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/platform/clock.js";
import { eventually, failureEvent } from "../support/harness.js";
import { textOf } from "../support/slack-actions.js";
import {
  burst,
  exceptionCardPosts,
  exceptionsOfClient,
  membersOf,
  stormAudit,
  stormCard,
  stormFormed,
  stormsOf,
} from "../support/storm-actions.js";
import { useHarness } from "../support/use-harness.js";

/** Real time plus an offset a test can move forward: "five minutes later" without waiting. */
let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };

const h = useHarness({
  env: { STORM_THRESHOLD: "3", STORM_WINDOW: "1m" },
  start: { clock },
});

const allCarded = (client: string, count: number) =>
  eventually(
    async () => {
      const rows = await exceptionsOfClient(h, client);
      return rows.length === count && rows.every((row) => row.cardTs) ? rows : null;
    },
    10_000,
    `${count} carded exceptions of ${client}`,
  );

describe("storm grouping", () => {
  it("posts a card each up to the threshold, and one storm card at one more", async () => {
    const kind = { client: "stormy-a", failureMode: "throttled" as const };
    await burst(h, 3, kind);
    await allCarded("stormy-a", 3);
    expect(await stormsOf(h, "stormy-a")).toEqual([]);

    await burst(h, 1, kind);
    const formed = await stormFormed(h, "stormy-a");
    expect(formed.channel).toBe("C0FULFILL");
    const members = await membersOf(h, formed.id);
    expect(members).toHaveLength(4);
    // The one that formed it has no card of its own; the three before keep theirs.
    expect(members.filter((row) => row.cardTs === null)).toHaveLength(1);
    expect(exceptionCardPosts(h, "stormy-a")).toBe(3);

    const card = textOf(await stormCard(h, formed.id));
    expect(card).toContain("Storm active");
    expect(card).toContain("stormy-a");
    // The earlier cards say they belong to the storm now.
    await eventually(async () => {
      const carded = members.filter((row) => row.cardTs);
      const texts = carded.map((row) => {
        const message = h.fake.messages("C0FULFILL").find((m) => m.ts === row.cardTs);
        return message ? textOf(message) : "";
      });
      return texts.every((text) => text.includes(`storm ST-${formed.id}`));
    });
    expect(await stormAudit(h, formed.id, "storm_formed")).toHaveLength(1);
  });

  it("keeps counting new failures and repeats into the storm, with no card each", async () => {
    const kind = { client: "stormy-c", failureMode: "network" as const };
    const first = await burst(h, 4, kind);
    const formed = await stormFormed(h, "stormy-c");
    await burst(h, 5, kind);
    // Three repeats of one member: occurrences, not new members.
    for (let i = 0; i < 3; i++) await h.report(failureEvent({ ...kind, sku: first[0]!.sku }));

    await eventually(
      async () => {
        const text = textOf(await stormCard(h, formed.id));
        return text.includes("*New failures (members)*\n9") && text.includes("*Events in all*\n12");
      },
      10_000,
      "the storm card to show 9 members and 12 events",
    );
    const members = await membersOf(h, formed.id);
    expect(members).toHaveLength(9);
    // Only members that were carded before the storm formed (at most the threshold) have one.
    const carded = members.filter((row) => row.cardTs).length;
    expect(carded).toBeLessThanOrEqual(3);
    expect(exceptionCardPosts(h, "stormy-c")).toBe(carded);
    const card = textOf(await stormCard(h, formed.id));
    expect(card).toContain(`\`${first[0]!.sku}\` ×4`);
    expect(card).toContain("Error samples");

    // Every member is its own exception with its own records.
    for (const member of await membersOf(h, formed.id)) {
      const actions = (await h.audit(member.id)).map((row) => row.action);
      expect(actions).toContain("opened");
      expect(actions).toContain("storm_joined");
    }
    // Member exceptions count in /inventory's figures like any other.
    const open = await exceptionsOfClient(h, "stormy-c");
    expect(open.filter((row) => row.state === "open")).toHaveLength(9);
  });

  it("does not group new failures spread wider than the window", async () => {
    const kind = { client: "stormy-b", failureMode: "throttled" as const };
    await burst(h, 3, kind);
    await allCarded("stormy-b", 3);
    offsetMs += 61_000;
    await burst(h, 1, kind);
    await allCarded("stormy-b", 4);
    expect(await stormsOf(h, "stormy-b")).toEqual([]);
    // Three more right away: four within the window now, which is one past the threshold.
    await burst(h, 3, kind);
    const formed = await stormFormed(h, "stormy-b");
    const members = await membersOf(h, formed.id);
    expect(members).toHaveLength(4);
    expect(exceptionCardPosts(h, "stormy-b")).toBeLessThanOrEqual(6);
  });

  it("groups per kind: another failure mode or client is not a member", async () => {
    await burst(h, 4, { client: "stormy-d", failureMode: "auth" });
    const formed = await stormFormed(h, "stormy-d");
    await h.report(failureEvent({ client: "stormy-d", failureMode: "conflict", sku: "D-OTHER" }));
    await h.report(failureEvent({ client: "stormy-d2", failureMode: "auth", sku: "D2-OTHER" }));
    const others = await eventually(async () => {
      const a = (await h.exceptionsFor("D-OTHER"))[0];
      const b = (await h.exceptionsFor("D2-OTHER"))[0];
      return a?.cardTs && b?.cardTs ? [a, b] : null;
    });
    expect(others.map((row) => row.stormId)).toEqual([null, null]);
    expect(await membersOf(h, formed.id)).toHaveLength(4);
  });

  it("posts the storm card once, when Slack answers again after being down", async () => {
    h.fake.setDown(true);
    try {
      await burst(h, 4, { client: "stormy-down", failureMode: "auth" });
      const [formed] = await eventually(async () => {
        const rows = await stormsOf(h, "stormy-down");
        return rows.length ? rows : null;
      });
      await eventually(async () => (await membersOf(h, formed!.id)).length === 4);
      expect((await stormsOf(h, "stormy-down"))[0]?.cardTs).toBeNull();
    } finally {
      h.fake.setDown(false);
    }
    const posted = await stormFormed(h, "stormy-down");
    await eventually(async () =>
      textOf(await stormCard(h, posted.id)).includes("*New failures (members)*\n4"),
    );
    const posts = h.fake
      .callsTo("chat.postMessage")
      .filter(
        (call) =>
          call.status === 200 &&
          !call.body.thread_ts &&
          (call.body.metadata as { event_payload?: { storm_id?: number } } | undefined)
            ?.event_payload?.storm_id === posted.id,
      );
    expect(posts).toHaveLength(1);
  });

  it("adopts a storm card an earlier attempt posted instead of posting a second", async () => {
    // The card a crashed attempt left behind: posted, its ts never recorded.
    const [seq] = await h.bot.deps.db.execute<{ next: number }>(
      sql`select (case when is_called then last_value + 1 else last_value end)::int as next from storms_id_seq`,
    );
    const nextId = seq!.next;
    const orphan = await h.bot.deps.slack.chat.postMessage({
      channel: "C0FULFILL",
      text: "storm card from an attempt that died",
      metadata: { event_type: "syncdesk_storm", event_payload: { storm_id: nextId } },
    });
    await burst(h, 4, { client: "stormy-orphan", failureMode: "auth" });
    const formed = await stormFormed(h, "stormy-orphan");
    expect(formed.id).toBe(nextId);
    expect(formed.cardTs).toBe(orphan.ts);
    const posts = h.fake
      .callsTo("chat.postMessage")
      .filter(
        (call) =>
          (call.body.metadata as { event_payload?: { storm_id?: number } } | undefined)
            ?.event_payload?.storm_id === nextId,
      );
    expect(posts).toHaveLength(1);
    // The adopted card is redrawn with the storm's figures.
    await eventually(async () => textOf(await stormCard(h, formed.id)).includes("Storm active"));
  });

  // What is checked is one storm out of a race; how long 40 intakes take on a busy machine is not.
  it("makes one storm when two intake workers take a burst side by side", {
    timeout: 90_000,
  }, async () => {
    await h.startAnother(["worker"]);
    const kind = { client: "stormy-race", failureMode: "partial_write" as const };
    const jobs = Array.from({ length: 40 }, (_, i) => failureEvent({ ...kind, sku: `RACE-${i}` }));
    await Promise.all(jobs.map((event) => h.report(event)));
    await eventually(
      async () => (await exceptionsOfClient(h, "stormy-race")).length === 40,
      60_000,
      "40 exceptions",
    );
    const formed = await stormFormed(h, "stormy-race");
    await eventually(async () => (await membersOf(h, formed.id)).length === 40);
    expect(await stormsOf(h, "stormy-race")).toHaveLength(1);
    const posts = h.fake
      .callsTo("chat.postMessage")
      .filter(
        (call) =>
          !call.body.thread_ts &&
          (call.body.metadata as { event_payload?: { storm_id?: number } } | undefined)
            ?.event_payload?.storm_id === formed.id,
      );
    expect(posts).toHaveLength(1);
    expect(exceptionCardPosts(h, "stormy-race")).toBeLessThanOrEqual(3);
  });
});
