import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { blockKitViolations } from "../../../dev/slack/block-kit-limits.js";
import { ACTIONS, type ExceptionRow } from "../../../src/exceptions/card.js";
import { parseRoutingText } from "../../../src/routing/load.js";
import type { SlaPolicy } from "../../../src/routing/routing-file.schema.js";
import {
  breachMessage,
  breachThreadNote,
  escalationsStoppedNote,
  nudgeText,
  reminderMessage,
  roleAudience,
  SLA_ACTIONS,
  slaCardLines,
} from "../../../src/sla/sla-messages.js";

const config = parseRoutingText(
  readFileSync(fileURLToPath(new URL("../../fixtures/routing.sla.yml", import.meta.url)), "utf8"),
);
const fulfillment = config.roles["fulfillment-ops"];
const MIN = 60_000;
const OPENED = Date.parse("2026-01-05T10:00:00Z");
const epoch = (ms: number) => Math.floor(ms / 1000);

const policy: SlaPolicy = {
  claimMs: 15 * MIN,
  resolveMs: 120 * MIN,
  nudgeAt: [0.5, 1],
  remindClaimerAt: 0.75,
  repeatMs: 60 * MIN,
  maxEscalations: 3,
  hours: null,
  timezone: "UTC",
};

/** An exception row with what the SLA messages read; the rest is irrelevant here. */
function row(overrides: Partial<ExceptionRow> = {}): ExceptionRow {
  return {
    id: 42,
    client: "globex",
    sku: "SKU-1",
    sourceSystem: "erp.netsuite",
    targetSystem: "storefront.shopify",
    failureMode: "partial_write",
    severity: "high",
    role: "fulfillment-ops",
    state: "open",
    claimedBy: null,
    openedAt: new Date(OPENED),
    breachedAt: null,
    escalations: 0,
    slaFired: [],
    resolvedAt: null,
    channel: "C0FULFILL",
    cardTs: "1700000000.000100",
    ...overrides,
  } as ExceptionRow;
}

const buttons = (message: { blocks: object[] }) =>
  (message.blocks as { type: string; elements?: { action_id: string; url?: string }[] }[])
    .filter((block) => block.type === "actions")
    .flatMap((block) => block.elements ?? []);

describe("the card's SLA line", () => {
  it("shows both deadlines in Slack date format while unclaimed, then only the resolve one", () => {
    const [open] = slaCardLines(row(), policy, OPENED);
    expect(open).toContain(`claim by <!date^${epoch(OPENED + 15 * MIN)}^`);
    expect(open).toContain(`resolve by <!date^${epoch(OPENED + 120 * MIN)}^`);
    const [claimed] = slaCardLines(row({ state: "claimed", claimedBy: "U1" }), policy, OPENED);
    expect(claimed).not.toContain("claim by");
    expect(claimed).toContain("resolve by");
  });

  it("says when the clock only runs in support hours, with deadlines that account for it", () => {
    const berlin = config.roles["berlin-ops"]?.sla as SlaPolicy;
    // Friday 17:59:56 in Berlin: 4s left today, the rest of the 8s claim window on Monday.
    const friday = Date.parse("2026-01-09T16:59:56Z");
    const [line] = slaCardLines(row({ openedAt: new Date(friday) }), berlin, friday);
    expect(line).toContain("clock runs Mon-Fri 08:00-18:00 (Europe/Berlin)");
    expect(line).toContain(`claim by <!date^${epoch(Date.parse("2026-01-12T07:00:04Z"))}^`);
  });

  it("shows a breach with how long overdue and how many times managers were paged", () => {
    const now = OPENED + 130 * MIN;
    const breached = row({ breachedAt: new Date(OPENED + 120 * MIN), escalations: 1 });
    const [line] = slaCardLines(breached, policy, now);
    expect(line).toMatch(/^:rotating_light: \*SLA breached\* · was due <!date\^/);
    expect(line).toContain("overdue by 10m");
    expect(line).toContain("managers paged 2×");
    expect(line).not.toContain("stopped");
    const [stopped] = slaCardLines({ ...breached, escalations: 3 }, policy, now);
    expect(stopped).toContain("managers paged 4× · escalation stopped");
  });

  it("says whether a resolved exception met its SLA", () => {
    const resolvedAt = new Date(OPENED + 150 * MIN);
    expect(slaCardLines(row({ state: "resolved", resolvedAt }), policy, 0)).toEqual([
      ":stopwatch: Resolved within its SLA",
    ]);
    const late = row({ state: "resolved", resolvedAt, breachedAt: new Date(OPENED + 120 * MIN) });
    expect(slaCardLines(late, policy, 0)).toEqual([
      ":rotating_light: SLA breached · resolved 30m after the deadline",
    ]);
  });
});

describe("nudges", () => {
  it("mention the role's user group, or its members when it has none", () => {
    expect(roleAudience(fulfillment)).toBe("<!subteam^S0FULFILL>");
    expect(roleAudience(config.roles["ads-ops"])).toBe("<@U0CAROL>");
    expect(roleAudience(undefined)).toBe("");
  });

  it("say how much of the claim window has passed, and when it is over", () => {
    const half = nudgeText(row(), fulfillment, policy, { index: 0 });
    expect(half).toMatch(
      /^:alarm_clock: <!subteam\^S0FULFILL> EX-42 is still unclaimed: 50% of its 15m claim window/,
    );
    const over = nudgeText(row(), fulfillment, policy, { index: 1 });
    expect(over).toContain("its 15m claim window is over");
  });
});

describe("the claimer's reminder", () => {
  it("gives the deadline and time left, with Resolve, Reassign and the card", () => {
    const held = row({ state: "claimed", claimedBy: "U0ALICE" });
    const message = reminderMessage(held, policy, OPENED + 90 * MIN, "https://x.test/card");
    expect(message.text).toContain("you hold EX-42 (globex · SKU-1)");
    expect(message.text).toContain("30m from now");
    expect(buttons(message).map((b) => b.action_id)).toEqual([
      ACTIONS.resolve,
      ACTIONS.reassign,
      SLA_ACTIONS.openCard,
    ]);
    expect(blockKitViolations(message, "message")).toEqual([]);
  });
});

describe("breach DMs", () => {
  const now = OPENED + 125 * MIN;

  it("say what, which client and SKU, who holds it, how long, with a link and buttons", () => {
    const held = row({ state: "claimed", claimedBy: "U0ALICE" });
    const message = breachMessage(held, policy, {
      nowMs: now,
      escalation: 0,
      recipient: "U0MGR",
      permalink: "https://fake.slack.test/archives/C0FULFILL/p1700000000000100",
    });
    const body = JSON.stringify(message.blocks);
    expect(message.text).toBe(
      "SLA breached: EX-42 · globex · SKU-1 · overdue by 5m · held by <@U0ALICE>",
    );
    expect(body).toContain("partial_write · erp.netsuite → storefront.shopify (high)");
    expect(body).toContain("*Held by:* <@U0ALICE>");
    expect(body).toContain("*Open for:* 2h 5m");
    expect(body).toContain(
      "<https://fake.slack.test/archives/C0FULFILL/p1700000000000100|Open the card>",
    );
    expect(buttons(message).map((b) => b.action_id)).toEqual([
      SLA_ACTIONS.take,
      ACTIONS.reassign,
      SLA_ACTIONS.openCard,
    ]);
    expect(blockKitViolations(message, "message")).toEqual([]);
  });

  it("offer no Claim for me to the holder, and no card link when there is none", () => {
    const held = row({ state: "claimed", claimedBy: "U0MGR" });
    const message = breachMessage(held, policy, {
      nowMs: now,
      escalation: 1,
      recipient: "U0MGR",
      permalink: null,
    });
    expect(buttons(message).map((b) => b.action_id)).toEqual([ACTIONS.reassign]);
    expect(message.text).toMatch(/^Still unresolved: reminder 1 of 3: EX-42/);
  });

  it("say so on the last reminder", () => {
    const message = breachMessage(row(), policy, {
      nowMs: now,
      escalation: 3,
      recipient: "U0MGR",
      permalink: null,
    });
    expect(JSON.stringify(message.blocks)).toContain("This is the last reminder");
    expect(message.text).toContain("held by nobody");
  });

  it("escape producer text: a SKU of <!channel> pings nobody", () => {
    const message = breachMessage(row({ sku: "<!channel>", client: "a&b" }), policy, {
      nowMs: now,
      escalation: 0,
      recipient: "U0MGR",
      permalink: null,
    });
    const everything = message.text + JSON.stringify(message.blocks);
    expect(everything).not.toContain("<!channel>");
    expect(everything).toContain("&lt;!channel&gt;");
    expect(everything).toContain("a&amp;b");
  });
});

describe("thread notes", () => {
  it("tell the channel the breach paged the managers, and when paging stops", () => {
    expect(breachThreadNote(row(), policy, ["U0MGR", "U0MGR2"])).toMatch(
      /^:rotating_light: \*SLA breached\*: EX-42 was not resolved by <!date\^\d+\^.*Paged 2 managers of \*fulfillment-ops\* by DM\.$/,
    );
    expect(breachThreadNote(row(), policy, [])).toContain("has no managers to page");
    expect(escalationsStoppedNote(row(), policy)).toBe(
      ":no_bell: Reminder 3 of 3 sent: syncdesk will not page the managers about EX-42 again.",
    );
  });
});
