import { describe, expect, it } from "vitest";
import { type Holding, transition } from "../../../src/exceptions/state-machine.js";

const open: Holding = {
  state: "open",
  claimedBy: null,
  retryCount: 0,
  canRetry: true,
  resolvedBy: null,
};
const held: Holding = { ...open, state: "claimed", claimedBy: "U0ALICE" };
const reassign = (actor: string, isManager: boolean, to = "U0BOB") =>
  ({ kind: "reassign", actor, isManager, to }) as const;

describe("reassign", () => {
  it("lets the holder or a manager hand claimed work to someone else", () => {
    expect(transition(held, reassign("U0ALICE", false))).toEqual({
      ok: true,
      change: { state: "claimed", claimedBy: "U0BOB", retryCount: 0 },
    });
    expect(transition(held, reassign("U0MGR", true))).toMatchObject({
      ok: true,
      change: { claimedBy: "U0BOB" },
    });
    // A manager taking over for themselves ("Claim for me" on a held exception).
    expect(transition(held, reassign("U0MGR", true, "U0MGR"))).toMatchObject({
      ok: true,
      change: { claimedBy: "U0MGR" },
    });
  });

  it("refuses a member who does not hold it", () => {
    expect(transition(held, reassign("U0CAROL", false))).toEqual({
      ok: false,
      reason: "held_by_other",
      by: "U0ALICE",
    });
  });

  it("lets only a manager assign unclaimed work, which claims it for the assignee", () => {
    expect(transition(open, reassign("U0ALICE", false))).toEqual({
      ok: false,
      reason: "not_claimed",
    });
    expect(transition(open, reassign("U0MGR", true))).toEqual({
      ok: true,
      change: { state: "claimed", claimedBy: "U0BOB", retryCount: 0 },
    });
  });

  it("keeps a retry in flight when the work changes hands, and changes nothing once resolved", () => {
    const retrying: Holding = { ...held, state: "retrying", retryCount: 1 };
    expect(transition(retrying, reassign("U0ALICE", false))).toMatchObject({
      ok: true,
      change: { state: "retrying", claimedBy: "U0BOB", retryCount: 1 },
    });
    const resolved: Holding = { ...held, state: "resolved", resolvedBy: "U0ALICE" };
    expect(transition(resolved, reassign("U0MGR", true))).toMatchObject({
      ok: false,
      reason: "already_resolved",
      by: "U0ALICE",
    });
  });
});
