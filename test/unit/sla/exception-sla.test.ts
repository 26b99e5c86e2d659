import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseRoutingText } from "../../../src/routing/load.js";
import { DEFAULT_SLA } from "../../../src/routing/routing-file.schema.js";
import { policyFor, slaClockOf, timerJobId } from "../../../src/sla/exception-sla.js";
import { ladderSteps, pendingSteps, type SlaClock, stepKey } from "../../../src/sla/policy.js";

const config = parseRoutingText(
  readFileSync(fileURLToPath(new URL("../../fixtures/routing.sla.yml", import.meta.url)), "utf8"),
);

describe("policyFor", () => {
  it("is the SLA of the rule that routed the exception", () => {
    const policy = policyFor(config, { ruleIndex: 0, role: "fulfillment-ops" });
    expect(policy.claimMs).toBe(5000);
    expect(policy.resolveMs).toBe(15_000);
    expect(policy.maxEscalations).toBe(3);
  });

  it("falls back to the role's SLA when that rule is gone or now routes elsewhere", () => {
    const gone = policyFor(config, { ruleIndex: 99, role: "fulfillment-ops" });
    expect(gone).toEqual(config.roles["fulfillment-ops"]?.sla);
    expect(gone.claimMs).toBe(3_600_000);
    // Rule 4 now routes to berlin-ops: its SLA is not this exception's.
    const moved = policyFor(config, { ruleIndex: 4, role: "fulfillment-ops" });
    expect(moved).toEqual(config.roles["fulfillment-ops"]?.sla);
  });

  it("falls back to the defaults when the role is gone too", () => {
    expect(policyFor(config, { ruleIndex: 99, role: "no-such-role" })).toEqual(DEFAULT_SLA);
  });

  it("keeps a route's `hours: always` over the role's support hours", () => {
    const role = config.roles["berlin-ops"]?.sla;
    expect(role?.hours?.text).toBe("Mon-Fri 08:00-18:00");
    expect(role?.timezone).toBe("Europe/Berlin");
    const urgent = config.routes.find((rule) => rule.match?.client?.includes("urgent"));
    expect(policyFor(config, { ruleIndex: urgent?.index ?? -1, role: "berlin-ops" }).hours).toBe(
      null,
    );
  });
});

describe("slaClockOf", () => {
  it("reads the row's SLA bookkeeping as the ladder's clock", () => {
    const openedAt = new Date("2026-01-05T10:00:00Z");
    const breachedAt = new Date("2026-01-05T14:00:00Z");
    expect(
      slaClockOf({
        openedAt,
        claimedBy: "U1",
        state: "claimed",
        breachedAt,
        escalations: 2,
        slaFired: ["breach-0"],
      }),
    ).toEqual({
      openedAt: openedAt.getTime(),
      claimedBy: "U1",
      state: "claimed",
      breachedAt: breachedAt.getTime(),
      escalations: 2,
      firedSteps: ["breach-0"],
    });
  });

  it("treats a malformed sla_fired as nothing fired", () => {
    const clock = slaClockOf({
      openedAt: new Date(0),
      claimedBy: null,
      state: "open",
      breachedAt: null,
      escalations: 0,
      slaFired: null as unknown as string[],
    });
    expect(clock.firedSteps).toEqual([]);
  });
});

describe("timer job ids", () => {
  const step = { kind: "claim_nudge" as const, index: 1, dueAt: 1_767_607_200_000 };

  it("are deterministic per exception, step and deadline, and BullMQ-safe", () => {
    const id = timerJobId(12, step);
    expect(id).toBe("sla-12-claim_nudge-1-1767607200000");
    expect(id).not.toContain(":");
    expect(Number.isNaN(Number(id))).toBe(true);
    expect(timerJobId(12, { ...step, dueAt: step.dueAt + 1 })).not.toBe(id);
    expect(timerJobId(12, step, 2)).toBe(`${id}-r2`);
  });
});

describe("ladderSteps", () => {
  const policy = policyFor(config, { ruleIndex: 1, role: "fulfillment-ops" }); // quick
  const base: SlaClock = {
    openedAt: 1_000_000,
    claimedBy: null,
    state: "open",
    breachedAt: null,
    escalations: 0,
    firedSteps: [],
  };

  it("lists every step a timer can be armed for, escalations once breached", () => {
    const ladder = ladderSteps(base, policy).map(
      (step) => `${stepKey(step)}@${step.dueAt - 1_000_000}`,
    );
    expect(ladder).toEqual([
      "claim_nudge-0@1000",
      "claim_nudge-1@2000",
      "claimer_reminder-0@2000",
      "breach-0@4000",
    ]);
    const breached = { ...base, breachedAt: 1_005_000 };
    expect(ladderSteps(breached, policy).at(-1)).toEqual({
      kind: "escalation",
      index: 1,
      dueAt: 1_007_000,
    });
  });

  it("contains every pending step, whatever the state", () => {
    const clocks: SlaClock[] = [
      base,
      { ...base, state: "claimed", claimedBy: "U1" },
      { ...base, state: "retrying", claimedBy: "U1", firedSteps: ["claim_nudge-0"] },
      { ...base, state: "claimed", claimedBy: "U1", breachedAt: 1_004_000, escalations: 0 },
    ];
    for (const clock of clocks) {
      const all = ladderSteps(clock, policy).map((step) => timerJobId(1, step));
      for (const step of pendingSteps(clock, policy)) {
        expect(all).toContain(timerJobId(1, step));
      }
    }
  });
});
