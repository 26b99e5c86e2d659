import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type LiveException, slaStanding } from "../../../src/inventory/sla-state.js";
import { parseRoutingText } from "../../../src/routing/load.js";

const config = parseRoutingText(
  readFileSync(
    fileURLToPath(new URL("../../fixtures/routing.inventory.yml", import.meta.url)),
    "utf8",
  ),
);
const NOW = new Date("2026-11-23T09:00:00Z");
const ago = (m: number) => new Date(NOW.getTime() - m * 60_000);
const row = (overrides: Partial<LiveException>) => ({
  role: "fulfillment-ops",
  ruleIndex: 1,
  state: "open" as const,
  claimedBy: null,
  openedAt: ago(0),
  breachedAt: null,
  ...overrides,
});

describe("slaStanding", () => {
  it("counts an unclaimed exception against its claim window", () => {
    // fulfillment-ops: claim within 15m; "soon" in its last quarter (<= 3m45s left).
    expect(slaStanding(row({ openedAt: ago(10) }), config, NOW)).toMatchObject({
      deadline: "claim",
      remainingMs: 5 * 60_000,
      urgency: "ok",
    });
    expect(slaStanding(row({ openedAt: ago(12) }), config, NOW).urgency).toBe("soon");
    expect(slaStanding(row({ openedAt: ago(16) }), config, NOW)).toMatchObject({
      urgency: "overdue",
      remainingMs: -60_000,
    });
  });

  it("uses the rule's claim window over the role's", () => {
    const ads = row({ role: "ads-ops", ruleIndex: 0, openedAt: ago(6) });
    expect(slaStanding(ads, config, NOW)).toMatchObject({
      urgency: "overdue",
      remainingMs: -60_000,
    });
  });

  it("counts a claimed one against its resolve deadline, and a breach outranks the clock", () => {
    const held = row({ state: "claimed", claimedBy: "U0ALICE", openedAt: ago(100) });
    expect(slaStanding(held, config, NOW)).toMatchObject({ deadline: "resolve", urgency: "soon" });
    expect(slaStanding({ ...held, openedAt: ago(30) }, config, NOW).urgency).toBe("ok");
    expect(slaStanding({ ...held, breachedAt: ago(1) }, config, NOW).urgency).toBe("breached");
  });
});
