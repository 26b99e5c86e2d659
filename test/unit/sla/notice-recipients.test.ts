import { describe, expect, it } from "vitest";
import type { RoleConfig, SlaPolicy } from "../../../src/routing/routing-file.schema.js";
import { DEFAULT_SLA } from "../../../src/routing/routing-file.schema.js";
import type { SlaStep } from "../../../src/sla/policy.js";
import { noticeKey, noticeRecipients } from "../../../src/sla/sla-notices.js";

const role = { managers: ["U0MGR", "U0MGR2"] } as RoleConfig;
const policy: SlaPolicy = { ...DEFAULT_SLA, maxEscalations: 2 };
const step = (kind: SlaStep["kind"], index = 0): SlaStep => ({ kind, index, dueAt: 0 });
const card = { claimedBy: null, stormId: null, cardTs: "1700000000.000100" };

describe("noticeRecipients", () => {
  it("sends nudges to the thread, the reminder to the holder, breaches to the thread and managers", () => {
    expect(noticeRecipients(step("claim_nudge"), card, role, policy)).toEqual(["thread"]);
    expect(
      noticeRecipients(step("claimer_reminder"), { ...card, claimedBy: "U0BOB" }, role, policy),
    ).toEqual(["U0BOB"]);
    expect(noticeRecipients(step("claimer_reminder"), card, role, policy)).toEqual([]);
    expect(noticeRecipients(step("breach"), card, role, policy)).toEqual([
      "thread",
      "U0MGR",
      "U0MGR2",
    ]);
  });

  it("repeats to the managers, and says in the thread when the last repeat went out", () => {
    expect(noticeRecipients(step("escalation", 1), card, role, policy)).toEqual([
      "U0MGR",
      "U0MGR2",
    ]);
    expect(noticeRecipients(step("escalation", 2), card, role, policy)).toEqual([
      "U0MGR",
      "U0MGR2",
      "thread",
    ]);
  });

  it("has no thread for a storm member without a card of its own, and no managers without a role", () => {
    const member = { claimedBy: null, stormId: 7, cardTs: null };
    expect(noticeRecipients(step("claim_nudge"), member, role, policy)).toEqual([]);
    expect(noticeRecipients(step("breach"), member, role, policy)).toEqual(["U0MGR", "U0MGR2"]);
    expect(noticeRecipients(step("breach"), card, undefined, policy)).toEqual(["thread"]);
  });
});

describe("noticeKey", () => {
  const member = (id: number) => ({ id, stormId: 7, cardTs: null });

  it("gives cardless members of one storm one manager page per step, not one each", () => {
    const keys = [11, 12, 13].map((id) => noticeKey(member(id), step("breach"), "U0MGR"));
    expect(new Set(keys).size).toBe(1);
    expect(noticeKey(member(11), step("escalation", 1), "U0MGR")).not.toBe(keys[0]);
    expect(noticeKey(member(11), step("breach"), "U0MGR2")).not.toBe(keys[0]);
  });

  it("keeps pages per exception for carded exceptions, storm members with a card included", () => {
    const carded = { id: 11, stormId: 7, cardTs: "1700000000.000100" };
    expect(noticeKey(carded, step("breach"), "U0MGR")).not.toBe(
      noticeKey({ ...carded, id: 12 }, step("breach"), "U0MGR"),
    );
    expect(noticeKey({ id: 11, stormId: null, cardTs: null }, step("breach"), "U0MGR")).toBe(
      "sla-11-breach-0-U0MGR",
    );
  });
});
