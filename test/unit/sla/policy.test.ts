import { describe, expect, it } from "vitest";
import type { SlaPolicy } from "../../../src/routing/routing-file.schema.js";
import {
  claimDeadline,
  nextStep,
  overdueBy,
  pendingSteps,
  resolveDeadline,
  type SlaClock,
  type SlaStep,
  stepKey,
  stepStillApplies,
} from "../../../src/sla/policy.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const at = (iso: string): number => Date.parse(iso);

/** 24/7: claim within 1 h (nudges at 30 and 60 min), resolve within 4 h, remind at 3 h. */
const policy: SlaPolicy = {
  claimMs: HOUR,
  resolveMs: 4 * HOUR,
  nudgeAt: [0.5, 1],
  remindClaimerAt: 0.75,
  repeatMs: 30 * MIN,
  maxEscalations: 2,
  hours: null,
  timezone: "UTC",
};
/** Same ladder, counted in UTC office hours Mon-Fri 09:00-17:00. */
const officePolicy: SlaPolicy = {
  ...policy,
  claimMs: 2 * HOUR,
  hours: { days: [1, 2, 3, 4, 5], startMinute: 540, endMinute: 1020, text: "Mon-Fri 09-17 UTC" },
};

const OPENED = at("2026-01-05T10:00:00Z"); // a Monday
const open: SlaClock = {
  openedAt: OPENED,
  claimedBy: null,
  state: "open",
  breachedAt: null,
  escalations: 0,
  firedSteps: [],
};
const claimed: SlaClock = { ...open, state: "claimed", claimedBy: "U123" };
const breachedAt = OPENED + 4 * HOUR;
const breached: SlaClock = {
  ...claimed,
  breachedAt,
  firedSteps: ["claimer_reminder-0", "breach-0"],
};

/** Steps as `key@minutes after opening` for compact, readable expectations. */
const ladder = (steps: SlaStep[], from = OPENED) =>
  steps.map((step) => `${stepKey(step)}@${(step.dueAt - from) / MIN}`);

describe("stepKey", () => {
  it("joins kind and index without ':' so it can sit inside a BullMQ job id", () => {
    expect(stepKey({ kind: "claim_nudge", index: 0 })).toBe("claim_nudge-0");
    expect(stepKey({ kind: "escalation", index: 2 })).toBe("escalation-2");
    expect(stepKey({ kind: "claimer_reminder", index: 0 })).not.toContain(":");
  });
});

describe("deadlines", () => {
  it("count both windows from openedAt in wall-clock time for 24/7 policies", () => {
    expect(claimDeadline(open, policy)).toBe(OPENED + HOUR);
    expect(resolveDeadline(open, policy)).toBe(OPENED + 4 * HOUR);
    // Claiming does not restart the resolve window.
    expect(resolveDeadline(claimed, policy)).toBe(OPENED + 4 * HOUR);
  });

  it("count business time, starting at the next opening when opened out of hours", () => {
    const friday = { openedAt: at("2026-01-09T16:00:00Z") };
    expect(claimDeadline(friday, officePolicy)).toBe(at("2026-01-12T10:00:00Z"));
    expect(resolveDeadline(friday, officePolicy)).toBe(at("2026-01-12T12:00:00Z"));
    const saturday = { openedAt: at("2026-01-10T03:00:00Z") };
    expect(claimDeadline(saturday, officePolicy)).toBe(at("2026-01-12T11:00:00Z"));
  });
});

describe("pendingSteps", () => {
  it("nudges an unclaimed exception at each fraction of the claim window, then breaches", () => {
    expect(ladder(pendingSteps(open, policy))).toEqual([
      "claim_nudge-0@30",
      "claim_nudge-1@60",
      "breach-0@240",
    ]);
  });

  it("sorts by due time while keeping each nudge's index as its position in nudgeAt", () => {
    const steps = pendingSteps(open, { ...policy, nudgeAt: [1, 0.25] });
    expect(ladder(steps)).toEqual(["claim_nudge-1@15", "claim_nudge-0@60", "breach-0@240"]);
  });

  it("orders simultaneous steps nudge, reminder, breach", () => {
    const steps = pendingSteps(open, { ...policy, claimMs: 4 * HOUR, nudgeAt: [1] });
    expect(ladder(steps)).toEqual(["claim_nudge-0@240", "breach-0@240"]);
  });

  it("leaves out steps already fired", () => {
    expect(ladder(pendingSteps({ ...open, firedSteps: ["claim_nudge-0"] }, policy))).toEqual([
      "claim_nudge-1@60",
      "breach-0@240",
    ]);
    const allFired = { ...open, firedSteps: ["claim_nudge-0", "claim_nudge-1", "breach-0"] };
    expect(pendingSteps(allFired, policy)).toEqual([]);
  });

  it("drops the claim nudges once claimed and reminds the claimer instead", () => {
    expect(ladder(pendingSteps(claimed, policy))).toEqual([
      "claimer_reminder-0@180",
      "breach-0@240",
    ]);
    const retrying: SlaClock = { ...claimed, state: "retrying" };
    expect(ladder(pendingSteps(retrying, policy))).toEqual([
      "claimer_reminder-0@180",
      "breach-0@240",
    ]);
  });

  it("sends no claimer reminder when the policy has none", () => {
    expect(ladder(pendingSteps(claimed, { ...policy, remindClaimerAt: null }))).toEqual([
      "breach-0@240",
    ]);
  });

  it("neither nudges nor reminds when state and claimer disagree, but still breaches", () => {
    const claimedWithoutClaimer: SlaClock = { ...open, state: "claimed" };
    const openWithClaimer: SlaClock = { ...open, claimedBy: "U123" };
    expect(ladder(pendingSteps(claimedWithoutClaimer, policy))).toEqual(["breach-0@240"]);
    expect(ladder(pendingSteps(openWithClaimer, policy))).toEqual(["breach-0@240"]);
  });

  it("places nudges and the reminder in business time", () => {
    const friday = at("2026-01-09T16:30:00Z");
    const fridayOpen: SlaClock = { ...open, openedAt: friday };
    expect(
      pendingSteps(fridayOpen, officePolicy).map((s) => new Date(s.dueAt).toISOString()),
    ).toEqual([
      "2026-01-12T09:30:00.000Z", // nudge 0: 1 h in = 30 min Friday + 30 min Monday
      "2026-01-12T10:30:00.000Z", // nudge 1: 2 h in
      "2026-01-12T12:30:00.000Z", // breach: 4 h in
    ]);
    const fridayClaimed: SlaClock = { ...claimed, openedAt: friday };
    expect(nextStep(fridayClaimed, officePolicy)?.dueAt).toBe(at("2026-01-12T11:30:00Z"));
  });

  it("rounds fractional offsets to whole milliseconds", () => {
    const steps = pendingSteps(open, { ...policy, claimMs: 1000, nudgeAt: [1 / 3] });
    expect(steps[0]).toEqual({ kind: "claim_nudge", index: 0, dueAt: OPENED + 333 });
  });

  it("after the breach, schedules only the next escalation, in wall-clock time", () => {
    expect(ladder(pendingSteps(breached, policy), breachedAt)).toEqual(["escalation-1@30"]);
    const once: SlaClock = {
      ...breached,
      escalations: 1,
      firedSteps: [...breached.firedSteps, "escalation-1"],
    };
    expect(ladder(pendingSteps(once, policy), breachedAt)).toEqual(["escalation-2@60"]);
  });

  it("pages on wall-clock time even when the policy has support hours", () => {
    const fridayEvening = at("2026-01-09T16:45:00Z");
    const clock: SlaClock = { ...breached, breachedAt: fridayEvening, escalations: 1 };
    expect(nextStep(clock, officePolicy)?.dueAt).toBe(at("2026-01-09T17:45:00Z"));
  });

  it("stops escalating at maxEscalations", () => {
    expect(pendingSteps({ ...breached, escalations: 2 }, policy)).toEqual([]);
    expect(pendingSteps(breached, { ...policy, maxEscalations: 0 })).toEqual([]);
  });

  it("keeps an unfired claimer reminder pending after the breach", () => {
    const clock: SlaClock = { ...breached, firedSteps: ["breach-0"] };
    expect(ladder(pendingSteps(clock, policy))).toEqual([
      "claimer_reminder-0@180",
      "escalation-1@270",
    ]);
  });

  it("yields nothing once resolved, whatever else the clock says", () => {
    for (const clock of [open, claimed, breached]) {
      const resolved: SlaClock = { ...clock, state: "resolved" };
      expect(pendingSteps(resolved, policy)).toEqual([]);
      expect(nextStep(resolved, policy)).toBeNull();
    }
  });
});

describe("nextStep", () => {
  it("is the earliest pending step", () => {
    expect(nextStep(open, policy)).toEqual({
      kind: "claim_nudge",
      index: 0,
      dueAt: OPENED + 30 * MIN,
    });
    expect(nextStep(claimed, policy)).toEqual({
      kind: "claimer_reminder",
      index: 0,
      dueAt: OPENED + 3 * HOUR,
    });
  });

  it("is null when the ladder is exhausted", () => {
    expect(nextStep({ ...breached, escalations: 2 }, policy)).toBeNull();
  });
});

describe("stepStillApplies", () => {
  const nudge0 = { kind: "claim_nudge", index: 0 } as const;
  const reminder = { kind: "claimer_reminder", index: 0 } as const;
  const breach = { kind: "breach", index: 0 } as const;
  const escalation = (index: number) => ({ kind: "escalation", index }) as const;

  it("holds for every step the clock is still waiting for", () => {
    expect(stepStillApplies(nudge0, open, policy)).toBe(true);
    expect(stepStillApplies({ kind: "claim_nudge", index: 1 }, open, policy)).toBe(true);
    expect(stepStillApplies(breach, open, policy)).toBe(true);
    expect(stepStillApplies(reminder, claimed, policy)).toBe(true);
    expect(stepStillApplies(escalation(1), breached, policy)).toBe(true);
  });

  it("rejects everything once resolved", () => {
    const resolved: SlaClock = { ...breached, state: "resolved" };
    for (const step of [nudge0, reminder, breach, escalation(1)]) {
      expect(stepStillApplies(step, resolved, policy)).toBe(false);
    }
  });

  it("rejects a nudge once claimed", () => {
    expect(stepStillApplies(nudge0, claimed, policy)).toBe(false);
  });

  it("rejects a claimer reminder without a claimer, or when the policy has none", () => {
    expect(stepStillApplies(reminder, open, policy)).toBe(false);
    expect(stepStillApplies(reminder, { ...claimed, claimedBy: null }, policy)).toBe(false);
    expect(stepStillApplies(reminder, claimed, { ...policy, remindClaimerAt: null })).toBe(false);
  });

  it("rejects a second breach", () => {
    expect(stepStillApplies(breach, { ...claimed, breachedAt }, policy)).toBe(false);
  });

  it("rejects an escalation already sent, out of turn, or past the cap", () => {
    const once: SlaClock = { ...breached, escalations: 1 };
    expect(stepStillApplies(escalation(1), once, policy)).toBe(false);
    expect(stepStillApplies(escalation(2), once, policy)).toBe(true);
    expect(stepStillApplies(escalation(3), once, policy)).toBe(false);
    expect(stepStillApplies(escalation(3), { ...breached, escalations: 2 }, policy)).toBe(false);
    expect(stepStillApplies(escalation(1), claimed, policy)).toBe(false);
  });

  it("rejects a step already fired, so a timer delivered twice acts once", () => {
    expect(stepStillApplies(nudge0, { ...open, firedSteps: ["claim_nudge-0"] }, policy)).toBe(
      false,
    );
    expect(
      stepStillApplies(escalation(1), { ...breached, firedSteps: ["escalation-1"] }, policy),
    ).toBe(false);
  });

  it("rejects indexes the policy does not define", () => {
    expect(stepStillApplies({ kind: "claim_nudge", index: 2 }, open, policy)).toBe(false);
    expect(stepStillApplies({ kind: "breach", index: 1 }, open, policy)).toBe(false);
    expect(stepStillApplies({ kind: "claimer_reminder", index: 1 }, claimed, policy)).toBe(false);
  });

  it("accepts a full step as returned by pendingSteps", () => {
    for (const step of pendingSteps(open, policy))
      expect(stepStillApplies(step, open, policy)).toBe(true);
  });
});

describe("overdueBy", () => {
  it("is 0 up to and at the resolve deadline, then the wall-clock time past it", () => {
    expect(overdueBy(OPENED + HOUR, open, policy)).toBe(0);
    expect(overdueBy(OPENED + 4 * HOUR, open, policy)).toBe(0);
    expect(overdueBy(OPENED + 5.5 * HOUR, open, policy)).toBe(1.5 * HOUR);
  });

  it("counts overdue time in wall-clock even with support hours", () => {
    const clock = { openedAt: at("2026-01-09T16:00:00Z") }; // due Monday 12:00
    expect(overdueBy(at("2026-01-12T11:00:00Z"), clock, officePolicy)).toBe(0);
    expect(overdueBy(at("2026-01-12T20:00:00Z"), clock, officePolicy)).toBe(8 * HOUR);
  });
});
