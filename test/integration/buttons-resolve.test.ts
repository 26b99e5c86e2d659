/**
 * Resolve from a card (the modal, its submission and who may do what), and clicks that arrive
 * too late or point somewhere else: they change nothing and tell the clicker why.
 */
import { describe, expect, it } from "vitest";
import { RETRY, useCardButtons } from "../support/card-buttons.js";
import { eventually } from "../support/harness.js";
import {
  auditOf,
  buttonsOf,
  cardOf,
  click,
  replyTo,
  submitResolve,
  textOf,
  threadOf,
  USERS,
} from "../support/slack-actions.js";

const { h, openException, snapshot, clickAndSettle, expectAnnounced, expectRefused } =
  useCardButtons("RES");

describe("Resolve", () => {
  it("opens the modal for a member, bound to this exception and channel", async () => {
    const row = await openException();
    const res = await click(h, USERS.bob, row.id, "resolve");
    const call = await h.fake.waitForCall("views.open", (c) => c.body.trigger_id === res.triggerId);
    const view = call.body.view as Record<string, unknown>;
    expect(view.callback_id).toBe("exception.resolve.submit");
    expect(JSON.parse(String(view.private_metadata))).toEqual({
      exceptionId: row.id,
      channel: "C0FULFILL",
    });
    expect(JSON.stringify(view.blocks)).toContain('"block_id":"note"');
    expect(JSON.stringify(view.blocks)).toContain('"block_id":"root_cause"');
    expect((await h.exception(row.id)).state).toBe("open");
  });

  it("refuses an outsider without opening the modal", async () => {
    const row = await openException();
    const res = await click(h, USERS.eve, row.id, "resolve");
    expect(await replyTo(h, res)).toContain("Only members of *fulfillment-ops*");
    expect(h.fake.callsTo("views.open").some((c) => c.body.trigger_id === res.triggerId)).toBe(
      false,
    );
  });

  it("a submission with a note and root cause resolves: card keeps details and says who, how, why", async () => {
    const row = await openException({ retry: RETRY });
    await clickAndSettle(USERS.alice, row.id, "claim");
    const before = await snapshot(row.id);
    const res = await submitResolve(h, USERS.alice, row.id, {
      note: "Re-mapped the size attribute <b>",
      rootCause: "mapping_schema",
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe("");
    await eventually(async () => (await threadOf(h, row.id)).length > before.replies);
    const after = await h.exception(row.id);
    expect(after).toMatchObject({
      state: "resolved",
      resolution: "manual",
      resolvedBy: USERS.alice,
      rootCause: "mapping_schema",
      resolutionNote: "Re-mapped the size attribute <b>",
    });
    await expectAnnounced(row.id, before, {
      actor: USERS.alice,
      action: "resolve",
      stateBefore: "claimed",
      stateAfter: "resolved",
    });
    expect((await auditOf(h, row.id, "resolve"))[0]?.note).toBe("Re-mapped the size attribute <b>");
    const card = await cardOf(h, row.id);
    const text = textOf(card);
    expect(text).toContain("*Resolved* by <@U0ALICE>");
    expect(text).toContain("Root cause: Mapping or schema");
    expect(text).toContain("Re-mapped the size attribute &lt;b&gt;");
    expect(text).toContain(row.sku);
    expect(text).toContain("Shopify accepted 40 of 41 variants");
    expect(buttonsOf(card)).toEqual([]);
  });

  it("a manager may resolve what a member holds", async () => {
    const row = await openException();
    await clickAndSettle(USERS.bob, row.id, "claim");
    const res = await submitResolve(h, USERS.manager, row.id, { note: "Closed by the manager" });
    expect(res.body).toBe("");
    await eventually(async () => (await h.exception(row.id)).resolvedBy === USERS.manager);
  });

  it("shows field errors for an empty note or no root cause, and changes nothing", async () => {
    const row = await openException();
    const emptyNote = await submitResolve(h, USERS.alice, row.id, { note: "  " });
    expect(emptyNote.json).toMatchObject({
      response_action: "errors",
      errors: { note: expect.any(String) },
    });
    const noCause = await submitResolve(h, USERS.alice, row.id, { rootCause: null });
    expect(noCause.json).toMatchObject({
      response_action: "errors",
      errors: { root_cause: "Pick a root cause." },
    });
    expect((await h.exception(row.id)).state).toBe("open");
    expect(await h.audit(row.id)).toHaveLength(2); // opened, card_posted
  });

  it("refuses an outsider's submission, even with a forged form, and a member's on a held card", async () => {
    const row = await openException();
    const forged = await submitResolve(h, USERS.eve, row.id, {
      privateMetadata: JSON.stringify({ exceptionId: row.id }),
    });
    expect(forged.json).toMatchObject({ response_action: "errors" });
    expect(JSON.stringify(forged.json)).toContain("Only members of fulfillment-ops");
    const garbage = await submitResolve(h, USERS.alice, row.id, { privateMetadata: "{nope" });
    expect(garbage.json).toMatchObject({ response_action: "errors" });

    await clickAndSettle(USERS.alice, row.id, "claim");
    const held = await submitResolve(h, USERS.bob, row.id);
    // A modal's field error is plain text: the holder by name (users.info; the stand-in's
    // "User <id>"), not "<@U0ALICE>" or a bare ID.
    expect(JSON.stringify(held.json)).toContain("held by User U0ALICE");
    expect((await h.exception(row.id)).state).toBe("claimed");
    expect(await auditOf(h, row.id, "resolve")).toEqual([]);
  });
});

describe("stale and foreign clicks", () => {
  it("every button on a resolved card says who resolved it and changes nothing", async () => {
    const row = await openException({ retry: RETRY });
    await submitResolve(h, USERS.bob, row.id, { note: "Fixed at the source" });
    await eventually(async () => (await threadOf(h, row.id)).length === 1);
    for (const [user, button] of [
      [USERS.alice, "claim"],
      [USERS.manager, "unclaim"],
      [USERS.alice, "retry"],
      [USERS.alice, "resolve"],
    ] as const) {
      await expectRefused(user, row.id, button, `already resolved by <@U0BOB>`);
    }
    const second = await submitResolve(h, USERS.alice, row.id, { note: "Me too" });
    expect(JSON.stringify(second.json)).toContain("already resolved by User U0BOB");
    expect((await h.exception(row.id)).resolvedBy).toBe(USERS.bob);
  });

  it("refuses a button value that points at another channel's exception", async () => {
    const ads = await openException({
      targetSystem: "ads.google-merchant",
      failureMode: "throttled",
    });
    expect(ads.channel).toBe("C0ADS");
    const ours = await openException();
    for (const button of ["claim", "unclaim", "retry", "resolve"] as const) {
      await expectRefused(USERS.manager, ours.id, button, `I can't find EX-${ours.id} here`, {
        channel: "C0ADS",
        messageTs: ads.cardTs!,
      });
    }
    expect((await h.exception(ours.id)).state).toBe("open");
  });

  it("refuses a button value that is not an exception id", async () => {
    const row = await openException();
    for (const value of ["abc", "0", "-1", "1e3", "99999999"]) {
      const res = await click(h, USERS.alice, row.id, "claim", { value });
      expect(await replyTo(h, res)).toMatch(/not one of mine|can't find/);
    }
    expect((await h.exception(row.id)).state).toBe("open");
  });
});
