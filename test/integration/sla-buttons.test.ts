/**
 * Acting on an SLA breach from Slack: the managers' DM buttons (Claim for me, Reassign to a
 * member, Open card) and the card's Reassign button, each checked like a card button (the
 * exception id in a button is untrusted; the clicker must belong to that exception's role).
 * Reminders follow whoever holds the exception when they fire.
 */
import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/exceptions/card.js";
import { REASSIGN_CALLBACK } from "../../src/exceptions/reassign.slack.js";
import { exceptions } from "../../src/platform/db/schema.js";
import { SLA_ACTIONS } from "../../src/sla/sla-messages.js";
import { sweepSla } from "../../src/sla/sla-timers.js";
import { eventually, failureEvent } from "../support/harness.js";
import {
  claim,
  clickCard,
  dmsTo,
  liveTimers,
  ON_TIME_MS,
  openedCard,
  SLA_ROUTING,
  slaSteps,
  text,
  threadOf,
} from "../support/sla.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({ routingFile: SLA_ROUTING });

type Json = Record<string, unknown>;

/** A click on a button of a DM the bot sent; returns what the clicker was told, if anything. */
async function clickInDm(
  userId: string,
  actionId: string,
  value: string,
  channelId = `D${userId}`,
): Promise<{ status: number; told: () => Promise<string>; triggerId: string }> {
  const responseId = randomBytes(6).toString("hex");
  const triggerId = `${Date.now()}.1.${randomBytes(8).toString("hex")}`;
  const res = await h.slack.blockAction({
    userId,
    channelId,
    messageTs: "1700000000.000100",
    actionId,
    value,
    responseUrl: h.fake.responseUrl(responseId),
    triggerId,
  });
  const told = async () => String(((await h.fake.waitForResponse(responseId)) as Json).text);
  return { status: res.status, told, triggerId };
}

function buttonsOf(message: Json): Json[] {
  const blocks = (message.blocks ?? []) as Json[];
  return blocks
    .filter((block) => block.type === "actions")
    .flatMap((block) => block.elements as Json[]);
}

function submitReassign(
  userId: string,
  exceptionId: number,
  to: string,
  channel?: string,
  reason?: string,
) {
  return h.slack.viewSubmission({
    userId,
    callbackId: REASSIGN_CALLBACK,
    privateMetadata: JSON.stringify({ exceptionId, ...(channel ? { channel } : {}) }),
    values: {
      to: { value: { type: "static_select", selected_option: { value: to } } },
      ...(reason !== undefined
        ? { reason: { value: { type: "plain_text_input", value: reason } } }
        : {}),
    },
  });
}

/** The modal a click opened (fake Slack keeps views by the trigger's call). */
async function modalFor(triggerId: string): Promise<Json> {
  const call = await h.fake.waitForCall("views.open", (c) => c.body.trigger_id === triggerId);
  return call.body.view as Json;
}

function optionValues(view: Json): { value: string }[] {
  const select = (view.blocks as Json[]).find((block) => block.block_id === "to");
  return ((select?.element ?? {}) as Json).options as { value: string }[];
}

// First in the file: no other exception of these tests is overdue yet.
describe("the SLA sweeper", () => {
  it("counts the timers it re-created, not the overdue rows it looked at", async () => {
    await h.report(failureEvent({ client: "sweeper", sku: "SKU-SWEEP" }));
    const row = await openedCard(h, "SKU-SWEEP");
    await eventually(async () => (await liveTimers(h, row.id)).length === 1);
    const overdue = () =>
      h.bot.deps.db
        .update(exceptions)
        .set({ nextDeadlineAt: new Date(Date.now() - 60_000) })
        .where(eq(exceptions.id, row.id));
    // Looks overdue, but its timer is still waiting: only the deadline is put right.
    await overdue();
    expect(await sweepSla(h.bot.deps)).toBe(0);
    expect((await h.exception(row.id)).nextDeadlineAt!.getTime()).toBeGreaterThan(Date.now());
    // The timer is lost (a Redis key gone): the sweeper makes a new one and counts it.
    for (const job of await liveTimers(h, row.id)) await job.remove();
    await overdue();
    expect(await sweepSla(h.bot.deps)).toBe(1);
    expect(await liveTimers(h, row.id)).toHaveLength(1);
  });
});

describe("breach DM buttons", () => {
  it("let managers claim, take over and reassign, and refuse everyone else", async () => {
    await h.report(failureEvent({ client: "breachnow", sku: "SKU-DM" }));
    const row = await openedCard(h, "SKU-DM");
    const [dm] = await eventually(async () => {
      const dms = dmsTo(h, "U0MGR");
      return dms.length ? dms : null;
    });
    const buttons = buttonsOf(dm as Json);
    expect(buttons.map((b) => b.action_id)).toEqual([
      SLA_ACTIONS.take,
      ACTIONS.reassign,
      SLA_ACTIONS.openCard,
    ]);
    expect(buttons[0]?.value).toBe(String(row.id));
    expect(buttons[2]?.url).toMatch(/^https:\/\/fake\.slack\.test\/archives\/C0FULFILL\/p\d+$/);
    expect(text(dm as Json)).toContain("held by nobody");
    const value = String(row.id);

    // Outsiders, members of another role, and clicks from outside a DM change nothing.
    const eve = await clickInDm("U0EVE", SLA_ACTIONS.take, value);
    expect(await eve.told()).toMatch(/^Only members of \*fulfillment-ops\* and its managers/);
    const carol = await clickInDm("U0CAROL", SLA_ACTIONS.take, value);
    expect(await carol.told()).toMatch(/^Only members of \*fulfillment-ops\*/);
    const fromChannel = await clickInDm("U0MGR", SLA_ACTIONS.take, value, "C0FULFILL");
    expect(await fromChannel.told()).toMatch(/not one of mine/);
    const forged = await clickInDm("U0MGR", SLA_ACTIONS.take, "12abc");
    expect(await forged.told()).toMatch(/not one of mine/);
    expect((await h.exception(row.id)).claimedBy).toBeNull();

    // A manager claims from the DM; another manager takes it over; a member cannot.
    const mgr = await clickInDm("U0MGR", SLA_ACTIONS.take, value);
    expect(await mgr.told()).toBe(`You now hold EX-${row.id}.`);
    expect((await h.exception(row.id)).claimedBy).toBe("U0MGR");
    const mgr2 = await clickInDm("U0MGR2", SLA_ACTIONS.take, value);
    expect(await mgr2.told()).toBe(`You now hold EX-${row.id}.`);
    expect((await h.exception(row.id)).claimedBy).toBe("U0MGR2");
    const alice = await clickInDm("U0ALICE", SLA_ACTIONS.take, value);
    expect(await alice.told()).toMatch(/is held by <@U0MGR2>/);
    expect((await h.exception(row.id)).claimedBy).toBe("U0MGR2");

    // Reassign from the DM: a modal of the role's people, minus the holder.
    const outsiderReassign = await clickInDm("U0EVE", ACTIONS.reassign, value);
    expect(await outsiderReassign.told()).toMatch(/^Only members of \*fulfillment-ops\*/);
    const reassign = await clickInDm("U0MGR", ACTIONS.reassign, value);
    const view = await modalFor(reassign.triggerId);
    expect(
      optionValues(view)
        .map((option) => option.value)
        .sort(),
    ).toEqual(["U0ALICE", "U0BOB", "U0DAVE", "U0MGR"].sort());
    const refusedTarget = await submitReassign("U0MGR", row.id, "U0EVE");
    expect(refusedTarget.json).toMatchObject({
      response_action: "errors",
      errors: { to: expect.stringMatching(/User U0EVE is not a member of fulfillment-ops/) },
    });
    const refusedActor = await submitReassign("U0EVE", row.id, "U0BOB");
    expect(refusedActor.json).toMatchObject({ response_action: "errors" });
    expect((await h.exception(row.id)).claimedBy).toBe("U0MGR2");
    const done = await submitReassign("U0MGR", row.id, "U0BOB");
    expect(done.status).toBe(200);
    await eventually(async () => (await h.exception(row.id)).claimedBy === "U0BOB");

    const handoffs = (await h.audit(row.id))
      .filter((entry) => entry.actor !== "system")
      .map((entry) => [entry.actor, entry.action, entry.details]);
    expect(handoffs).toEqual([
      ["U0MGR", "claim", null],
      ["U0MGR2", "reassign", { from: "U0MGR", to: "U0MGR2" }],
      ["U0MGR", "reassign", { from: "U0MGR2", to: "U0BOB" }],
    ]);
    await eventually(async () =>
      threadOf(h, row).some((reply) => text(reply).includes("handed this to <@U0BOB>")),
    );
    const openCard = await clickInDm("U0MGR", SLA_ACTIONS.openCard, value);
    expect(openCard.status).toBe(200);
  });
});

describe("card Reassign", () => {
  it("lets the holder hand over, refuses others, and the reminder goes to the new holder", async () => {
    await h.report(failureEvent({ client: "remindme", sku: "SKU-HANDOFF" }));
    const row = await openedCard(h, "SKU-HANDOFF");
    await claim(h, "U0ALICE", row);
    await eventually(async () => {
      const card = h.fake.messages("C0FULFILL").find((message) => message.ts === row.cardTs);
      return buttonsOf(card ?? {}).some((b) => b.action_id === ACTIONS.reassign);
    });

    // Bob is a member but not the holder: he may not hand Alice's work around.
    const responseId = randomBytes(6).toString("hex");
    await h.slack.blockAction({
      userId: "U0BOB",
      channelId: row.channel,
      messageTs: row.cardTs ?? "",
      actionId: ACTIONS.reassign,
      value: String(row.id),
      responseUrl: h.fake.responseUrl(responseId),
    });
    expect(((await h.fake.waitForResponse(responseId)) as Json).text).toMatch(
      /is held by <@U0ALICE>: only they or a manager/,
    );
    // The same button clicked in another role's channel points at nothing there.
    const elsewhere = randomBytes(6).toString("hex");
    await h.slack.blockAction({
      userId: "U0ALICE",
      channelId: "C0ADS",
      messageTs: row.cardTs ?? "",
      actionId: ACTIONS.reassign,
      value: String(row.id),
      responseUrl: h.fake.responseUrl(elsewhere),
    });
    expect(((await h.fake.waitForResponse(elsewhere)) as Json).text).toMatch(
      /can't find EX-\d+ here/,
    );

    const res = await clickCard(h, "U0ALICE", row, ACTIONS.reassign);
    expect(res.status).toBe(200);
    const opened = await h.fake.waitForCall(
      "views.open",
      (call) =>
        (call.body.view as Json).private_metadata ===
        JSON.stringify({ exceptionId: row.id, channel: row.channel }),
    );
    expect(optionValues(opened.body.view as Json).map((o) => o.value)).not.toContain("U0ALICE");
    // Plain text draws no <@U…>: names from users.info (the stand-in's "User <id>"), not IDs.
    const modal = JSON.stringify(opened.body.view);
    expect(modal).toContain("held by User U0ALICE");
    expect(modal).toContain('"text":"User U0BOB"');
    await submitReassign(
      "U0ALICE",
      row.id,
      "U0BOB",
      row.channel,
      "  Off from tomorrow; Bob knows the WMS ",
    );
    await eventually(async () => (await h.exception(row.id)).claimedBy === "U0BOB");
    // Why, and what is expected next, in the audit of every hand-off (and of the claim).
    const audit = await h.audit(row.id);
    const handOff = audit.find((a) => a.action === "reassign");
    expect(handOff).toMatchObject({
      actor: "U0ALICE",
      note: "Off from tomorrow; Bob knows the WMS",
      expectedOutcome: `U0BOB takes over EX-${row.id} and resolves it`,
    });
    expect(audit.find((a) => a.action === "claim")?.expectedOutcome).toContain(
      `the claimer works EX-${row.id}`,
    );

    // remindme: resolve within 10s, the holder is reminded at 50%.
    const [reminder] = await eventually(
      async () => {
        const steps = await slaSteps(h, row.id);
        return steps.length ? steps : null;
      },
      8000,
      "the claimer reminder",
    );
    expect(reminder?.step).toBe("claimer_reminder-0");
    expect(reminder?.lateMs).toBeLessThan(ON_TIME_MS);
    expect((await slaSteps(h, row.id))[0]?.recipients).toEqual(["U0BOB"]);
    const [dm] = await eventually(async () => {
      const dms = dmsTo(h, "U0BOB");
      return dms.length ? dms : null;
    });
    expect(text(dm as Json)).toMatch(
      /^:hourglass_flowing_sand: Reminder: you hold EX-\d+ \(remindme · SKU-HANDOFF\)/,
    );
    expect(buttonsOf(dm as Json).map((b) => b.action_id)).toEqual([
      ACTIONS.resolve,
      ACTIONS.reassign,
      SLA_ACTIONS.openCard,
    ]);
    expect(dmsTo(h, "U0ALICE")).toEqual([]);
  });
});
