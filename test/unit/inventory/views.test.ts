import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { blockKitViolations } from "../../../dev/slack/block-kit-limits.js";
import { ACTIONS } from "../../../src/exceptions/card.js";
import { evaluateChecklist } from "../../../src/inventory/checklist.js";
import { renderChecklist } from "../../../src/inventory/checklist.view.js";
import { renderDigest } from "../../../src/inventory/digest.view.js";
import type { WindowFigures } from "../../../src/inventory/figures.js";
import { renderHome } from "../../../src/inventory/home.view.js";
import { type Linker, noLinks, permalink } from "../../../src/inventory/links.js";
import { type QueueItem, renderMine } from "../../../src/inventory/queue.view.js";
import { type LiveException, slaStanding } from "../../../src/inventory/sla-state.js";
import { renderStatus } from "../../../src/inventory/status.view.js";
import { parseRoutingText } from "../../../src/routing/load.js";

const config = parseRoutingText(
  readFileSync(
    fileURLToPath(new URL("../../fixtures/routing.inventory.yml", import.meta.url)),
    "utf8",
  ),
);
const NOW = new Date("2026-11-23T09:00:00Z");
const link: Linker = (channel, ts) =>
  ts ? permalink("https://acme.slack.com/", channel, ts) : null;
const LONG = "x".repeat(5000);

function item(id: number, overrides: Partial<LiveException> = {}): QueueItem {
  const row: LiveException = {
    id,
    role: "fulfillment-ops",
    ruleIndex: 1,
    state: "open",
    claimedBy: null,
    openedAt: new Date(NOW.getTime() - id * 60_000),
    breachedAt: null,
    client: "acme",
    sku: `SKU-${id}`,
    targetSystem: "storefront.shopify",
    failureMode: "conflict",
    severity: "high",
    channel: "C0FULFILL",
    cardTs: `1700000000.${String(id).padStart(6, "0")}`,
    canRetry: true,
    ...overrides,
  };
  return { row, standing: slaStanding(row, config, NOW) };
}

const figures = (overrides: Partial<WindowFigures> = {}): WindowFigures => ({
  opened: 10,
  breached: 1,
  resolved: 8,
  byRetry: 4,
  byRecovery: 2,
  byHand: 2,
  toClaim: { count: 6, medianMs: 300_000, p95Ms: 900_000 },
  toResolve: { count: 8, medianMs: 3_600_000, p95Ms: 7_200_000 },
  perDay: [{ day: "2026-11-22", opened: 10 }],
  topTargets: Array.from({ length: 5 }, (_, i) => ({
    name: `${LONG}${i}`,
    failures: 9,
    exceptions: 3,
  })),
  topSkus: [{ name: "acme · <!channel>", failures: 5, exceptions: 1 }],
  ...overrides,
});

const many = (n: number, overrides: Partial<LiveException> = {}) =>
  Array.from({ length: n }, (_, i) => item(i + 1, overrides));

describe("Block Kit limits", () => {
  it("keeps the Home tab within 100 blocks however much there is", () => {
    const view = renderHome(
      {
        userId: "U0ALICE",
        roles: ["fulfillment-ops", "ads-ops"],
        held: many(40, { claimedBy: "U0ALICE", state: "claimed", client: LONG }),
        roleOpen: many(80, { sku: LONG }),
        figures: figures(),
        now: NOW,
      },
      link,
    );
    expect(blockKitViolations(view, "home")).toEqual([]);
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    const text = JSON.stringify(view.blocks);
    expect(text).toContain("and 28 more");
    expect(text).toContain("and 65 more");
  });

  it("keeps /inventory mine within 50 blocks of a message", () => {
    const message = renderMine(
      {
        userId: "U0ALICE",
        roles: ["fulfillment-ops"],
        held: many(30, { claimedBy: "U0ALICE", state: "claimed" }),
        atRisk: many(30, { openedAt: new Date(NOW.getTime() - 14 * 60_000) }),
      },
      link,
    );
    expect(blockKitViolations(message, "message")).toEqual([]);
  });

  it("keeps status, checklist and digest within a message's limits", () => {
    const live = Array.from({ length: 30 }, (_, i) => ({
      role: `role-${i}`,
      open: 1,
      claimed: 2,
      retrying: 0,
      breached: 1,
      oldestUnclaimed: {
        id: i + 1,
        client: LONG,
        sku: "SKU",
        channel: "C0FULFILL",
        cardTs: "1.000100",
        openedAt: NOW,
      },
    }));
    const status = renderStatus(
      {
        args: { client: "acme", windowMs: 7 * 86_400_000, windowLabel: "7d" },
        now: NOW,
        live,
        figures: figures(),
        rejected: { total: 3, unreviewed: 1 },
      },
      link,
    );
    expect(blockKitViolations(status, "message")).toEqual([]);
    const lines = evaluateChecklist(
      {
        clientsSeen: Array.from({ length: 500 }, (_, i) => `client-${i}-${LONG}`),
        live: many(200, { openedAt: new Date(NOW.getTime() - 86_400_000) }).map((i) => i.row),
        unreviewedRejections: { count: 9, examples: [{ id: 1, channel: "C0X", cardTs: "1.1" }] },
        routingChanges: [],
        manualWithoutRootCause: { count: 0, examples: [] },
        pipelines: Array.from({ length: 40 }, (_, i) => ({
          name: `pipeline-${i}-${"x".repeat(50)}`,
          stale: i % 2 === 0,
          overBudget: true,
          p95Ms: 900_000,
          budgetMs: 300_000,
          deliveries: i % 3,
        })),
        qa: { duplicates: 99_999, rejectedDeliveries: 12 },
      },
      config,
      NOW,
    );
    expect(blockKitViolations(renderChecklist(lines, NOW, link), "message")).toEqual([]);
    expect(
      blockKitViolations(renderDigest("ads-ops", figures(), lines, NOW, link), "message"),
    ).toEqual([]);
  });
});

describe("list items", () => {
  it("carry the card's own action ids and the exception id as value", () => {
    const home = renderHome(
      {
        userId: "U0ALICE",
        roles: ["fulfillment-ops"],
        held: [item(5, { claimedBy: "U0ALICE", state: "claimed" })],
        roleOpen: [item(6), item(7, { claimedBy: "U0BOB", state: "claimed", canRetry: false })],
        figures: null,
        now: NOW,
      },
      noLinks,
    );
    const actions = home.blocks.filter((b) => (b as { type: string }).type === "actions") as {
      elements: { action_id: string; value: string }[];
    }[];
    expect(actions.map((a) => a.elements.map((e) => [e.action_id, e.value]))).toEqual([
      [
        [ACTIONS.unclaim, "5"],
        [ACTIONS.retry, "5"],
        [ACTIONS.resolve, "5"],
      ],
      [
        [ACTIONS.claim, "6"],
        [ACTIONS.retry, "6"],
        [ACTIONS.resolve, "6"],
      ],
      [[ACTIONS.resolve, "7"]],
    ]);
  });

  it("escape producer text so a SKU cannot ping the channel", () => {
    const message = renderMine(
      {
        userId: "U0ALICE",
        roles: ["fulfillment-ops"],
        held: [
          item(1, {
            claimedBy: "U0ALICE",
            state: "claimed",
            sku: "<!channel>",
            client: "<@U0BOSS>",
          }),
        ],
        atRisk: [],
      },
      link,
    );
    const text = JSON.stringify(message);
    expect(text).not.toContain("<!channel>");
    expect(text).not.toContain("<@U0BOSS>");
    expect(text).toContain("&lt;!channel&gt;");
  });

  it("link to the card by its permalink", () => {
    expect(permalink("https://acme.slack.com/", "C0FULFILL", "1700000000.000100")).toBe(
      "https://acme.slack.com/archives/C0FULFILL/p1700000000000100",
    );
  });
});
