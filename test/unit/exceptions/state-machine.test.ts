import { describe, expect, it } from "vitest";
import {
  type Action,
  type Holding,
  type Outcome,
  transition,
} from "../../../src/exceptions/state-machine.js";

const ALICE = "U0ALICE";
const BOB = "U0BOB";
const MGR = "U0MGR";

const open: Holding = {
  state: "open",
  claimedBy: null,
  retryCount: 0,
  canRetry: true,
  resolvedBy: null,
};
const claimedByAlice: Holding = { ...open, state: "claimed", claimedBy: ALICE };
const retryingHeld: Holding = { ...open, state: "retrying", claimedBy: ALICE, retryCount: 1 };
const retryingUnheld: Holding = { ...open, state: "retrying", claimedBy: null, retryCount: 1 };
const resolved: Holding = {
  ...open,
  state: "resolved",
  claimedBy: ALICE,
  retryCount: 1,
  resolvedBy: BOB,
};

const claim = (actor: string): Action => ({ kind: "claim", actor });
const unclaim = (actor: string, isManager = false): Action => ({
  kind: "unclaim",
  actor,
  isManager,
});
const retry = (actor: string, isManager = false): Action => ({ kind: "retry", actor, isManager });
const resolve = (actor: string, isManager = false): Action => ({
  kind: "resolve",
  actor,
  isManager,
  note: "done",
  rootCause: "other",
});

function changed(outcome: Outcome) {
  if (!outcome.ok) throw new Error(`expected a change, got refusal ${outcome.reason}`);
  return outcome.change;
}

describe("claim", () => {
  it("open -> claimed by the clicker", () => {
    expect(changed(transition(open, claim(ALICE)))).toEqual({
      state: "claimed",
      claimedBy: ALICE,
      retryCount: 0,
    });
  });

  it("refuses when someone holds it, naming the holder, for members and managers alike", () => {
    expect(transition(claimedByAlice, claim(BOB))).toEqual({
      ok: false,
      reason: "already_claimed",
      by: ALICE,
    });
    expect(transition(claimedByAlice, claim(MGR))).toMatchObject({ by: ALICE });
    expect(transition(retryingHeld, claim(BOB))).toMatchObject({
      reason: "already_claimed",
      by: ALICE,
    });
  });

  it("refuses the holder's own second click (a double click changes nothing)", () => {
    expect(transition(claimedByAlice, claim(ALICE))).toEqual({
      ok: false,
      reason: "already_claimed",
      by: ALICE,
    });
  });

  it("takes an unheld retry in flight without leaving the retrying state", () => {
    expect(changed(transition(retryingUnheld, claim(BOB)))).toEqual({
      state: "retrying",
      claimedBy: BOB,
      retryCount: 1,
    });
  });
});

describe("unclaim", () => {
  it("the holder releases: claimed -> open", () => {
    expect(changed(transition(claimedByAlice, unclaim(ALICE)))).toEqual({
      state: "open",
      claimedBy: null,
      retryCount: 0,
    });
  });

  it("a member cannot release someone else's; a manager can", () => {
    expect(transition(claimedByAlice, unclaim(BOB))).toEqual({
      ok: false,
      reason: "held_by_other",
      by: ALICE,
    });
    expect(changed(transition(claimedByAlice, unclaim(MGR, true)))).toMatchObject({
      state: "open",
      claimedBy: null,
    });
  });

  it("refuses when nobody holds it", () => {
    expect(transition(open, unclaim(ALICE))).toEqual({ ok: false, reason: "not_claimed" });
    expect(transition(open, unclaim(MGR, true))).toEqual({ ok: false, reason: "not_claimed" });
    expect(transition(retryingUnheld, unclaim(ALICE))).toMatchObject({ reason: "not_claimed" });
  });

  it("releasing during a retry keeps the retry in flight", () => {
    expect(changed(transition(retryingHeld, unclaim(ALICE)))).toEqual({
      state: "retrying",
      claimedBy: null,
      retryCount: 1,
    });
  });
});

describe("retry", () => {
  it("from open or claimed: retrying, with the next retry number; the holder stays", () => {
    expect(changed(transition(open, retry(ALICE)))).toEqual({
      state: "retrying",
      claimedBy: null,
      retryCount: 1,
    });
    expect(changed(transition({ ...claimedByAlice, retryCount: 2 }, retry(ALICE)))).toEqual({
      state: "retrying",
      claimedBy: ALICE,
      retryCount: 3,
    });
  });

  it("refuses without a retry spec, whoever asks", () => {
    const noSpec = { ...open, canRetry: false };
    expect(transition(noSpec, retry(ALICE))).toEqual({ ok: false, reason: "retry_unavailable" });
    expect(transition(noSpec, retry(MGR, true))).toMatchObject({ reason: "retry_unavailable" });
  });

  it("refuses a second retry while one is in flight", () => {
    expect(transition(retryingHeld, retry(ALICE))).toEqual({
      ok: false,
      reason: "retry_in_progress",
    });
    expect(transition(retryingUnheld, retry(MGR, true))).toMatchObject({
      reason: "retry_in_progress",
    });
  });

  it("a member cannot retry what someone else holds; a manager can", () => {
    expect(transition(claimedByAlice, retry(BOB))).toEqual({
      ok: false,
      reason: "held_by_other",
      by: ALICE,
    });
    expect(changed(transition(claimedByAlice, retry(MGR, true)))).toMatchObject({
      state: "retrying",
      claimedBy: ALICE,
      retryCount: 1,
    });
  });
});

describe("resolve", () => {
  it.each([
    ["open", open],
    ["claimed by the resolver", claimedByAlice],
    ["retrying", retryingHeld],
  ])("from %s: resolved by hand, by the clicker", (_name, from) => {
    expect(changed(transition(from, resolve(ALICE)))).toEqual({
      state: "resolved",
      claimedBy: from.claimedBy,
      retryCount: from.retryCount,
      resolution: "manual",
      resolvedBy: ALICE,
    });
  });

  it("a member cannot resolve what someone else holds; a manager can", () => {
    expect(transition(claimedByAlice, resolve(BOB))).toEqual({
      ok: false,
      reason: "held_by_other",
      by: ALICE,
    });
    expect(changed(transition(claimedByAlice, resolve(MGR, true)))).toMatchObject({
      state: "resolved",
      resolvedBy: MGR,
    });
  });
});

describe("system signals", () => {
  it("a completed retry resolves a retrying exception, by nobody", () => {
    expect(changed(transition(retryingHeld, { kind: "retry_succeeded" }))).toEqual({
      state: "resolved",
      claimedBy: ALICE,
      retryCount: 1,
      resolution: "retry",
      resolvedBy: null,
    });
  });

  it("a failed retry goes back to the holder, or back to open when nobody held it", () => {
    expect(changed(transition(retryingHeld, { kind: "retry_failed", error: "503" }))).toEqual({
      state: "claimed",
      claimedBy: ALICE,
      retryCount: 1,
    });
    expect(
      changed(transition(retryingUnheld, { kind: "retry_failed", error: "503" })),
    ).toMatchObject({ state: "open", claimedBy: null });
  });

  it("retry results are ignored when no retry is in flight (late or repeated polls)", () => {
    for (const from of [open, claimedByAlice]) {
      expect(transition(from, { kind: "retry_succeeded" })).toEqual({
        ok: false,
        reason: "not_retrying",
      });
      expect(transition(from, { kind: "retry_failed", error: "x" })).toEqual({
        ok: false,
        reason: "not_retrying",
      });
    }
  });

  it("a later successful sync resolves as recovered from any unresolved state", () => {
    for (const from of [open, claimedByAlice, retryingHeld, retryingUnheld]) {
      expect(changed(transition(from, { kind: "recovered" }))).toMatchObject({
        state: "resolved",
        resolution: "recovered",
        resolvedBy: null,
        claimedBy: from.claimedBy,
      });
    }
  });

  it("a latency gate whose cause went away resolves its exception as recovered, whoever holds it", () => {
    for (const from of [open, claimedByAlice, retryingHeld, retryingUnheld]) {
      expect(changed(transition(from, { kind: "gate_cleared" }))).toMatchObject({
        state: "resolved",
        resolution: "recovered",
        resolvedBy: null,
        claimedBy: from.claimedBy,
      });
    }
  });
});

describe("a resolved exception", () => {
  const everything: Action[] = [
    claim(ALICE),
    claim(MGR),
    unclaim(ALICE),
    unclaim(MGR, true),
    retry(ALICE),
    retry(MGR, true),
    resolve(ALICE),
    resolve(MGR, true),
    { kind: "reassign", actor: MGR, isManager: true, to: BOB },
    { kind: "retry_succeeded" },
    { kind: "retry_failed", error: "late" },
    { kind: "recovered" },
    { kind: "gate_cleared" },
  ];

  it.each(everything.map((action) => [action.kind, action] as const))(
    "refuses %s and says who resolved it",
    (_kind, action) => {
      expect(transition(resolved, action)).toMatchObject({
        ok: false,
        reason: "already_resolved",
        by: BOB,
      });
    },
  );
});

describe("reassign (held work)", () => {
  it("the holder hands over; a member cannot take it from another; a manager can", () => {
    expect(
      changed(
        transition(claimedByAlice, { kind: "reassign", actor: ALICE, isManager: false, to: BOB }),
      ),
    ).toEqual({ state: "claimed", claimedBy: BOB, retryCount: 0 });
    expect(
      transition(claimedByAlice, { kind: "reassign", actor: BOB, isManager: false, to: BOB }),
    ).toEqual({ ok: false, reason: "held_by_other", by: ALICE });
    expect(
      changed(
        transition(claimedByAlice, { kind: "reassign", actor: MGR, isManager: true, to: BOB }),
      ),
    ).toMatchObject({ claimedBy: BOB });
  });

  it("a member cannot hand over unclaimed work", () => {
    expect(transition(open, { kind: "reassign", actor: ALICE, isManager: false, to: BOB })).toEqual(
      { ok: false, reason: "not_claimed" },
    );
  });
});

describe("purity", () => {
  it("never changes its input", () => {
    const before = structuredClone(claimedByAlice);
    transition(claimedByAlice, unclaim(MGR, true));
    transition(claimedByAlice, resolve(ALICE));
    expect(claimedByAlice).toEqual(before);
  });
});
