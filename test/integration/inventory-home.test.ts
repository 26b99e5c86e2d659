/**
 * App Home and `/inventory mine`: what a person holds and what is about to breach, with the
 * card's buttons working from both places, and the Home tab following changes.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/exceptions/card.js";
import { DIGEST_SCHEDULER_ID } from "../../src/inventory/digest.job.js";
import { HOME_REFRESH_WINDOW_MS } from "../../src/inventory/home-pacing.js";
import { exceptions } from "../../src/platform/db/schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import { INVENTORY_ROUTING } from "../support/inventory-history.js";
import { click } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({ routingFile: INVENTORY_ROUTING });

async function openException(sku: string, overrides = {}): Promise<number> {
  await h.report(failureEvent({ sku, client: "acme", ...overrides }));
  const [row] = await eventually(
    async () => {
      const rows = await h.exceptionsFor(sku);
      return rows[0]?.cardTs ? rows : null;
    },
    10_000,
    `the card of ${sku}`,
  );
  return row!.id;
}

type View = {
  blocks: {
    type: string;
    block_id?: string;
    text?: { text: string };
    elements?: { action_id: string; value: string }[];
  }[];
};
const publishes = (userId: string) =>
  h.fake.callsTo("views.publish").filter((call) => call.body.user_id === userId);
const viewText = (view: unknown) => JSON.stringify((view as View).blocks);

/** Waits for a Home publish for `userId` after `since` publishes whose view passes `check`. */
async function homeAfter(
  userId: string,
  since: number,
  check: (text: string) => boolean,
  timeoutMs = 10_000,
) {
  return eventually(
    async () => {
      const call = publishes(userId).slice(since).reverse()[0];
      return call && check(viewText(call.body.view)) ? (call.body.view as View) : null;
    },
    timeoutMs,
    `a Home tab for ${userId}`,
  );
}

describe("App Home", () => {
  it("is published when opened: what I hold, my roles' open exceptions, the week", async () => {
    const id = await openException("SKU-HOME-1", {
      retry: { queue: "inventory-sync", name: "sync", data: {} },
    });
    const before = publishes("U0ALICE").length;
    const res = await h.slack.event({
      type: "app_home_opened",
      user: "U0ALICE",
      channel: "D0ALICE",
      tab: "home",
    });
    expect(res.status).toBe(200);
    const view = await homeAfter("U0ALICE", before, (text) => text.includes(`EX-${id}`));
    const text = viewText(view);
    expect(text).toContain("You hold nothing right now.");
    expect(text).toContain("Unresolved in your roles: 1");
    expect(text).toContain("This week in fulfillment-ops");
    const buttons = view.blocks
      .flatMap((b) => b.elements ?? [])
      .filter((e) => e.value === String(id));
    expect(buttons.map((b) => b.action_id)).toEqual([
      ACTIONS.claim,
      ACTIONS.retry,
      ACTIONS.resolve,
    ]);
    expect(h.fake.violations).toEqual([]);
  });

  it("ignores the Messages tab being opened", async () => {
    // Bob's own publishes: Alice's tab may be redrawn meanwhile by the change above.
    const before = publishes("U0BOB").length;
    await h.slack.event({
      type: "app_home_opened",
      user: "U0BOB",
      channel: "D0BOB",
      tab: "messages",
    });
    await h.slack.event({ type: "app_home_opened", user: "U0BOB", channel: "D0BOB", tab: "home" });
    await eventually(async () => publishes("U0BOB").length > 0);
    expect(publishes("U0BOB").length).toBe(before + 1);
  });

  it("claims from the Home tab, records the first claim, and refreshes the tab", async () => {
    const id = await openException("SKU-HOME-2");
    const before = publishes("U0ALICE").length;
    const res = await h.slack.blockAction({
      userId: "U0ALICE",
      userName: "alice",
      view: { type: "home" },
      actionId: ACTIONS.claim,
      value: String(id),
    });
    expect(res.status).toBe(200);
    const row = await eventually(async () => {
      const current = await h.exception(id);
      return current.claimedBy === "U0ALICE" ? current : null;
    });
    expect(row.firstClaimedAt).toEqual(row.claimedAt);
    const view = await homeAfter("U0ALICE", before, (text) => text.includes("You hold 1"));
    expect(viewText(view)).toContain(`EX-${id}`);
  });

  it("refreshes the Home tab of the person who held it when someone else changes it", async () => {
    const [held] = await h.bot.deps.db
      .select()
      .from(exceptions)
      .where(eq(exceptions.claimedBy, "U0ALICE"));
    const before = publishes("U0ALICE").length;
    await click(h, "U0MGR", held!.id, "unclaim");
    await homeAfter("U0ALICE", before, (text) => text.includes("You hold nothing right now."));
    // The first claim stays recorded through the unclaim and a new claim.
    await click(h, "U0BOB", held!.id, "claim");
    const row = await eventually(async () => {
      const current = await h.exception(held!.id);
      return current.claimedBy === "U0BOB" ? current : null;
    });
    expect(row.firstClaimedAt).toEqual(held!.firstClaimedAt);
    expect(row.claimedAt!.getTime()).toBeGreaterThan(held!.firstClaimedAt!.getTime());
  });

  it("tells someone outside the role why nothing changed, in their DM (Home has no response_url)", async () => {
    const id = await openException("SKU-HOME-3");
    await h.slack.blockAction({
      userId: "U0CAROL",
      userName: "carol",
      view: { type: "home" },
      actionId: ACTIONS.claim,
      value: String(id),
    });
    const dm = await eventually(async () =>
      h.fake.messages("DU0CAROL").find((m) => String(m.text).includes(`EX-${id}`)),
    );
    expect(String(dm.text)).toContain("Only members of *fulfillment-ops* and its managers");
    expect((await h.exception(id)).claimedBy).toBeNull();
  });
});

describe("/inventory mine", () => {
  it("lists what I hold with the card buttons, which work from the ephemeral message", async () => {
    const id = await openException("SKU-MINE-1");
    await click(h, "U0BOB", id, "claim");
    await eventually(async () => (await h.exception(id)).claimedBy === "U0BOB");
    await h.slack.command({
      command: "/inventory",
      text: "mine",
      userId: "U0BOB",
      channelId: "C0ELSEWHERE",
      responseUrl: h.fake.responseUrl("mine-bob"),
    });
    const answer = (await h.fake.waitForResponse("mine-bob")) as { text: string } & View;
    expect(answer.text).toMatch(/^You hold \d+ exceptions?/);
    const actions = answer.blocks.find(
      (b) => b.type === "actions" && b.elements?.some((e) => e.value === String(id)),
    );
    expect(actions?.elements?.map((e) => e.action_id)).toEqual([ACTIONS.unclaim, ACTIONS.resolve]);

    // Unclaim from the ephemeral list, shown in another channel than the card's.
    await h.slack.blockAction({
      userId: "U0BOB",
      userName: "bob",
      channelId: "C0ELSEWHERE",
      messageTs: "1700000999.000100",
      ephemeral: true,
      actionId: ACTIONS.unclaim,
      blockId: actions?.block_id,
      value: String(id),
      responseUrl: h.fake.responseUrl("mine-unclaim"),
    });
    await eventually(async () => (await h.exception(id)).claimedBy === null);
    // The list is drawn again in place: no stale Unclaim on what Bob no longer holds.
    const redrawn = (await h.fake.waitForResponse("mine-unclaim")) as {
      text: string;
      replace_original?: boolean;
    } & View;
    expect(redrawn.replace_original).toBe(true);
    expect(redrawn.text).toMatch(/^You hold \d+ exceptions?/);
    const stale = redrawn.blocks.filter(
      (b) =>
        b.type === "actions" &&
        b.elements?.some((e) => e.value === String(id) && e.action_id === ACTIONS.unclaim),
    );
    expect(stale).toEqual([]);
  });

  it("shows what is about to breach in my roles", async () => {
    // An exception in fulfillment-ops whose claim window is nearly over: opened 14 min ago.
    const id = await openException("SKU-MINE-2");
    await h.bot.deps.db
      .update(exceptions)
      .set({ openedAt: new Date(Date.now() - 14 * 60_000) })
      .where(eq(exceptions.id, id));
    await h.slack.command({
      command: "/inventory",
      text: "mine",
      userId: "U0ALICE",
      channelId: "C0FULFILL",
      responseUrl: h.fake.responseUrl("mine-alice"),
    });
    const answer = (await h.fake.waitForResponse("mine-alice")) as View;
    const text = viewText(answer);
    expect(text).toMatch(/About to breach in fulfillment-ops: \d+/);
    expect(text).toContain(`EX-${id}`);
    expect(text).toContain(":hourglass_flowing_sand: claim due in");
    expect(h.fake.violations).toEqual([]);
  });

  it("refuses arguments", async () => {
    await h.slack.command({
      command: "/inventory",
      text: "mine all",
      userId: "U0ALICE",
      channelId: "C0FULFILL",
      responseUrl: h.fake.responseUrl("mine-args"),
    });
    const answer = (await h.fake.waitForResponse("mine-args")) as { text: string };
    expect(answer.text).toContain("`/inventory mine` takes no arguments, but got `all`.");
  });
});

describe("weekly digest schedule", () => {
  it("is one job scheduler, Mondays at 09:00 UTC by default", async () => {
    const scheduler = await h.bot.deps.queues.internal.getJobScheduler(DIGEST_SCHEDULER_ID);
    expect(scheduler).toMatchObject({ pattern: "0 9 * * 1", tz: "UTC" });
  });
});

describe("App Home follows changes without being reopened", () => {
  // Alice and Bob opened Home above; U0MGR, a manager of the role, never has.
  const openInRole = async () =>
    (await h.bot.deps.db.select().from(exceptions)).filter(
      (row) => row.role === "fulfillment-ops" && row.state !== "resolved",
    ).length;
  const failedPublishes = () =>
    h.fake.callsTo("views.publish").filter((call) => call.error !== undefined);

  it("shows a new exception of my role, then a teammate's claim of it", async () => {
    const beforeAlice = publishes("U0ALICE").length;
    const beforeBob = publishes("U0BOB").length;
    const id = await openException("SKU-LIVE-1");
    await homeAfter("U0ALICE", beforeAlice, (text) => text.includes(`EX-${id}`));
    await homeAfter("U0BOB", beforeBob, (text) => text.includes(`EX-${id}`));

    const before = publishes("U0ALICE").length;
    await click(h, "U0BOB", id, "claim");
    const view = await homeAfter(
      "U0ALICE",
      before,
      (text) => text.includes(`EX-${id}`) && text.includes("held by <@U0BOB>"),
    );
    expect(viewText(view)).toContain(`EX-${id}`);
  });

  // How long 60 intakes take depends on the machine's load; the bound below scales with it.
  it("publishes a bounded number of views per person in a burst, ending on the latest state", {
    timeout: 90_000,
  }, async () => {
    const beforeAlice = publishes("U0ALICE").length;
    const beforeBob = publishes("U0BOB").length;
    const started = Date.now();
    const burst = 60;
    const open = await openInRole();
    // Another client and failure mode than the other tests: this burst forms a storm of its own.
    for (let i = 0; i < burst; i++) {
      await h.report(
        failureEvent({ sku: `SKU-BURST-${i}`, client: "globex", failureMode: "network" }),
      );
    }
    const expected = `Unresolved in your roles: ${open + burst}`;
    await homeAfter("U0ALICE", beforeAlice, (text) => text.includes(expected), 60_000);
    await homeAfter("U0BOB", beforeBob, (text) => text.includes(expected), 60_000);
    const elapsed = Date.now() - started;
    const sent = publishes("U0ALICE").length - beforeAlice;
    // The first at once, then at most one per 2 s window.
    expect(sent).toBeLessThanOrEqual(Math.ceil(elapsed / HOME_REFRESH_WINDOW_MS) + 1);
    expect(sent).toBeLessThan(burst / 5);
  });

  it("retries a publish Slack refused, from the state as it is then", async () => {
    const beforeAlice = publishes("U0ALICE").length;
    const beforeBob = publishes("U0BOB").length;
    const failed = failedPublishes().length;
    h.fake.failNext("views.publish", { error: "internal_error", times: 2 });
    const id = await openException("SKU-LIVE-2");
    // The role's list is cut to the most urgent after the burst above: look for the count.
    const expected = `Unresolved in your roles: ${await openInRole()}`;
    await homeAfter("U0ALICE", beforeAlice, (text) => text.includes(expected));
    await homeAfter("U0BOB", beforeBob, (text) => text.includes(expected));
    expect(failedPublishes().length).toBe(failed + 2);
    expect((await h.exception(id)).state).toBe("open");
  });

  it("publishes nothing to someone who never opened Home, though they act in the role", async () => {
    expect(publishes("U0MGR")).toEqual([]);
    // Outside the role and never opened: nothing either.
    expect(publishes("U0CAROL")).toEqual([]);
  });
});
