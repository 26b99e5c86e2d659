import { describe, expect, it } from "vitest";
import { blockKitViolations } from "../../../dev/slack/block-kit-limits.js";
import type { ExceptionRow } from "../../../src/exceptions/card.js";
import {
  renderStormCard,
  STORM_ACTIONS,
  type StormRow,
  type StormStats,
  stormMemberLine,
} from "../../../src/storms/storm-card.js";

const at = new Date("2026-11-26T09:00:00Z");
const storm = (over: Partial<StormRow> = {}): StormRow => ({
  id: 3,
  key: "k",
  client: "acme",
  targetSystem: "ads.google-merchant",
  failureMode: "throttled",
  role: "ads-ops",
  channel: "C0ADS",
  state: "open",
  formedAt: at,
  lastMemberAt: at,
  endedAt: null,
  claimedBy: null,
  claimedAt: null,
  resolvedBy: null,
  resolvedAt: null,
  resolutionNote: null,
  rootCause: null,
  cardTs: null,
  updatedAt: at,
  ...over,
});
const stats = (over: Partial<StormStats> = {}): StormStats => ({
  members: 42,
  events: 57,
  open: 40,
  claimed: 1,
  retrying: 0,
  resolved: 1,
  retryable: 41,
  retryQueues: ["feed-publisher"],
  firstSeenAt: at,
  lastSeenAt: new Date("2026-11-26T09:03:00Z"),
  topSkus: [{ sku: "SKU-1", occurrences: 5 }],
  samples: [{ message: "429 Too Many Requests", members: 42 }],
  ...over,
});

const text = (card: { blocks: object[] }) => JSON.stringify(card.blocks);
const mrkdwnTexts = (node: unknown): string[] => {
  if (Array.isArray(node)) return node.flatMap(mrkdwnTexts);
  if (!node || typeof node !== "object") return [];
  const obj = node as Record<string, unknown>;
  const own = obj.type === "mrkdwn" && typeof obj.text === "string" ? [obj.text] : [];
  return [...own, ...Object.values(obj).flatMap(mrkdwnTexts)];
};
const buttons = (card: { blocks: object[] }) =>
  (card.blocks as { type: string; elements?: { action_id: string; value: string }[] }[])
    .filter((b) => b.type === "actions")
    .flatMap((b) => b.elements ?? []);

describe("renderStormCard", () => {
  it("shows counts, top SKUs, samples, first and last seen, and all three buttons", () => {
    const card = renderStormCard(storm(), stats(), 300_000);
    const all = text(card);
    for (const part of ["42", "57", "SKU-1", "429 Too Many Requests", "Storm active", "5m"])
      expect(all).toContain(part);
    expect(all).toContain("<!date^1795683600^");
    expect(buttons(card).map((b) => b.action_id)).toEqual([
      STORM_ACTIONS.claim,
      STORM_ACTIONS.retryAll,
      STORM_ACTIONS.resolveAll,
    ]);
    expect(buttons(card).every((b) => b.value === "3")).toBe(true);
    expect(card.text).toContain("ST-3");
    expect(blockKitViolations({ text: card.text, blocks: card.blocks }, "message")).toEqual([]);
  });

  it("escapes producer text so a SKU or error cannot ping a channel", () => {
    const card = renderStormCard(
      storm({ client: "<!channel>" }),
      stats({
        topSkus: [{ sku: "<!channel>", occurrences: 1 }],
        samples: [{ message: "<@U0BOSS> <https://evil.test|click>", members: 1 }],
      }),
      300_000,
    );
    // plain_text (the header) is never parsed by Slack; everything mrkdwn must be escaped.
    const all = [...mrkdwnTexts(card.blocks), card.text].join("\n");
    expect(all).toContain("&lt;!channel&gt;");
    expect(all).not.toContain("<!channel>");
    expect(all).not.toContain("<@U0BOSS>");
    expect(all).not.toContain("<https://evil.test");
  });

  it("stays inside Slack's limits with huge member text", () => {
    const huge = "x".repeat(10_000);
    const card = renderStormCard(
      storm({ client: huge, resolutionNote: huge, resolvedBy: "U0A", rootCause: "other" }),
      stats({
        topSkus: Array.from({ length: 5 }, () => ({ sku: huge, occurrences: 1 })),
        samples: Array.from({ length: 3 }, () => ({ message: huge, members: 1 })),
      }),
      300_000,
    );
    expect(blockKitViolations({ text: card.text, blocks: card.blocks }, "message")).toEqual([]);
  });

  it("says the storm is over once it ended", () => {
    const card = renderStormCard(
      storm({ state: "ended", endedAt: new Date("2026-11-26T09:10:00Z") }),
      stats(),
      300_000,
    );
    expect(text(card)).toContain("Storm over");
    expect(card.text).toContain("(over)");
  });

  it("drops Claim storm once claimed, and every button once all members are resolved", () => {
    const claimed = renderStormCard(storm({ claimedBy: "U0ALICE", claimedAt: at }), stats(), 1000);
    expect(buttons(claimed).map((b) => b.action_id)).not.toContain(STORM_ACTIONS.claim);
    expect(text(claimed)).toContain("<@U0ALICE>");
    const done = renderStormCard(storm(), stats({ resolved: 42, open: 0, retryable: 0 }), 1000);
    expect(buttons(done)).toEqual([]);
  });

  it("Claim storm, Retry all and Resolve all ask first, saying how many members and which queue", () => {
    const card = renderStormCard(storm(), stats(), 1000);
    const confirmOf = (actionId: string) =>
      (buttons(card).find((b) => b.action_id === actionId) as { confirm?: unknown } | undefined)
        ?.confirm as Record<string, { text: string }> | undefined;
    expect(confirmOf(STORM_ACTIONS.claim)?.title?.text).toBe("Claim storm ST-3?");
    expect(confirmOf(STORM_ACTIONS.claim)?.text?.text).toContain("40 unclaimed members");
    expect(confirmOf(STORM_ACTIONS.retryAll)?.title?.text).toBe("Retry 41 members?");
    expect(confirmOf(STORM_ACTIONS.retryAll)?.text?.text).toContain("on queue feed-publisher");
    expect(confirmOf(STORM_ACTIONS.resolveAll)?.title?.text).toBe("Resolve 41 members?");
    expect(confirmOf(STORM_ACTIONS.resolveAll)?.text?.text).toContain("ST-3 (41 exceptions)");
    const many = renderStormCard(
      storm(),
      stats({ retryQueues: ["a", "b", "c", "d", "e"], retryable: 1 }),
      1000,
    );
    const text = JSON.stringify(buttons(many));
    expect(text).toContain("Retry 1 member?");
    expect(text).toContain("on queues a, b, c and 2 more");
    expect(blockKitViolations({ text: card.text, blocks: card.blocks }, "message")).toEqual([]);
  });

  it("offers no Retry all when no member can be retried", () => {
    const card = renderStormCard(storm(), stats({ retryable: 0 }), 1000);
    expect(buttons(card).map((b) => b.action_id)).not.toContain(STORM_ACTIONS.retryAll);
  });
});

describe("stormMemberLine", () => {
  it("names the storm on a member's own card, and nothing for others", () => {
    expect(stormMemberLine({ stormId: 3 } as ExceptionRow)?.[0]).toContain("ST-3");
    expect(stormMemberLine({ stormId: null } as ExceptionRow)).toBeUndefined();
  });
});
