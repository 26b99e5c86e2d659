import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  type ChecklistFacts,
  type ChecklistLine,
  evaluateChecklist,
} from "../../../src/inventory/checklist.js";
import type { LiveException } from "../../../src/inventory/sla-state.js";
import { parseRoutingText } from "../../../src/routing/load.js";

const config = parseRoutingText(
  readFileSync(
    fileURLToPath(new URL("../../fixtures/routing.inventory.yml", import.meta.url)),
    "utf8",
  ),
);
const NOW = new Date("2026-11-23T09:00:00Z");
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);

let nextId = 1;
function live(overrides: Partial<LiveException> = {}): LiveException {
  const id = nextId++;
  return {
    id,
    role: "fulfillment-ops",
    ruleIndex: 1,
    state: "open",
    claimedBy: null,
    openedAt: minutesAgo(1),
    breachedAt: null,
    client: "acme",
    sku: `SKU-${id}`,
    targetSystem: "storefront.shopify",
    failureMode: "conflict",
    severity: "normal",
    channel: "C0FULFILL",
    cardTs: `1700000000.${String(id).padStart(6, "0")}`,
    canRetry: false,
    ...overrides,
  };
}

const clean: ChecklistFacts = {
  clientsSeen: ["acme", "globex"],
  live: [],
  unreviewedRejections: { count: 0, examples: [] },
  routingChanges: [],
  manualWithoutRootCause: { count: 0, examples: [] },
  pipelines: [
    {
      name: "acme-erp-to-shopify",
      stale: false,
      overBudget: false,
      p95Ms: 60_000,
      budgetMs: 300_000,
      deliveries: 1200,
    },
  ],
  qa: { duplicates: 0, rejectedDeliveries: 0 },
};

function line(facts: Partial<ChecklistFacts>, key: ChecklistLine["key"]): ChecklistLine {
  const found = evaluateChecklist({ ...clean, ...facts }, config, NOW).find((l) => l.key === key);
  if (!found) throw new Error(`no line ${key}`);
  return found;
}

describe("evaluateChecklist", () => {
  it("passes every line on a clean week, in a fixed order", () => {
    const lines = evaluateChecklist(clean, config, NOW);
    expect(lines.map((l) => [l.key, l.status])).toEqual([
      ["clients", "pass"],
      ["claims", "pass"],
      ["freshness", "pass"],
      ["sla", "pass"],
      ["qa", "pass"],
      ["rejections", "pass"],
      ["routing", "pass"],
      ["root-causes", "pass"],
    ]);
  });

  it("clients: names every client without a source of truth and owner, escaped", () => {
    const attention = line({ clientsSeen: ["acme", "zeta", "<!here>"] }, "clients");
    expect(attention.status).toBe("attention");
    expect(attention.detail).toBe(
      "Not declared: `&lt;!here&gt;`, `zeta`. Add them under `clients:` in the routing file.",
    );
    expect(line({ clientsSeen: ["acme"] }, "clients").detail).toBe("1 client seen, all declared.");
  });

  it("claims: an open card past its rule's claim window needs attention, one inside does not", () => {
    // fulfillment-ops claims within 15 minutes; the ads rule within 5.
    const inTime = live({ openedAt: minutesAgo(14) });
    const lateAds = live({
      role: "ads-ops",
      ruleIndex: 0,
      openedAt: minutesAgo(6),
      channel: "C0ADS",
    });
    const claimedLate = live({ openedAt: minutesAgo(60), state: "claimed", claimedBy: "U0ALICE" });
    expect(line({ live: [inTime, claimedLate] }, "claims").status).toBe("pass");
    const attention = line({ live: [inTime, lateAds, claimedLate] }, "claims");
    expect(attention.status).toBe("attention");
    expect(attention.detail).toBe("1 exception waiting past the claim window (ads-ops 1).");
    expect(attention.links).toEqual([
      { label: `EX-${lateAds.id}`, channel: "C0ADS", ts: lateAds.cardTs },
    ]);
  });

  it("sla: a role with an exception past its resolve deadline or marked breached", () => {
    const within = live({ state: "claimed", claimedBy: "U0BOB", openedAt: minutesAgo(119) });
    expect(line({ live: [within] }, "sla").status).toBe("pass");
    const overdue = live({ state: "claimed", claimedBy: "U0BOB", openedAt: minutesAgo(121) });
    const marked = live({
      role: "ads-ops",
      ruleIndex: 0,
      channel: "C0ADS",
      breachedAt: minutesAgo(1),
    });
    const attention = line({ live: [within, overdue, marked] }, "sla");
    expect(attention.status).toBe("attention");
    expect(attention.detail).toBe("Past the resolve deadline: ads-ops 1, fulfillment-ops 1.");
    expect(attention.links.map((l) => l.label)).toEqual([`EX-${overdue.id}`, `EX-${marked.id}`]);
  });

  it("rejections: unreviewed ones of the last 24 h, linked to their cards", () => {
    const attention = line(
      {
        unreviewedRejections: {
          count: 4,
          examples: [
            { id: 7, channel: "C0FULFILL", cardTs: "1.000100" },
            { id: 8, channel: null, cardTs: null },
          ],
        },
      },
      "rejections",
    );
    expect(attention.status).toBe("attention");
    expect(attention.detail).toContain("4 rejected events not reviewed");
    expect(attention.links).toEqual([
      { label: "rejection #7", channel: "C0FULFILL", ts: "1.000100" },
    ]);
  });

  it("routing: every change approved passes; break-glass or undecided needs attention", () => {
    const at = minutesAgo(60);
    const approved = { version: 4, decidedBy: "U0MGR", breakGlass: false, activatedAt: at };
    expect(line({ routingChanges: [approved] }, "routing")).toMatchObject({
      status: "pass",
      detail: "1 change, all approved.",
    });
    const attention = line(
      {
        routingChanges: [
          approved,
          { version: 5, decidedBy: "U0MGR", breakGlass: true, activatedAt: at },
          { version: 6, decidedBy: null, breakGlass: false, activatedAt: at },
        ],
      },
      "routing",
    );
    expect(attention.status).toBe("attention");
    expect(attention.detail).toContain("v5 went live by break-glass; v6 has no recorded approval");
  });

  it("root causes: manual hand-offs without one need attention", () => {
    const example = {
      id: 9,
      client: "acme",
      sku: "S",
      channel: "C0FULFILL",
      cardTs: "1.000900",
      openedAt: minutesAgo(90),
    };
    const attention = line(
      { manualWithoutRootCause: { count: 2, examples: [example] } },
      "root-causes",
    );
    expect(attention.status).toBe("attention");
    expect(attention.detail).toBe("2 exceptions resolved by hand without a root cause.");
    expect(attention.links).toEqual([{ label: "EX-9", channel: "C0FULFILL", ts: "1.000900" }]);
  });

  it("freshness: stale and over-budget pipelines and open late deliveries need attention, beside the SLA line", () => {
    const pipelines = [
      {
        name: "a-stale",
        stale: true,
        overBudget: false,
        p95Ms: null,
        budgetMs: 300_000,
        deliveries: 0,
      },
      {
        name: "b-slow",
        stale: false,
        overBudget: true,
        p95Ms: 420_000,
        budgetMs: 300_000,
        deliveries: 80,
      },
      // Not stale by the 24 h figures, but its gate has an open exception (hours-aware).
      {
        name: "c-gated",
        stale: false,
        overBudget: false,
        p95Ms: 1000,
        budgetMs: 300_000,
        deliveries: 5,
      },
    ];
    const rows = [
      live({ id: 901, failureMode: "latency", role: "storefront-ops" }),
      live({ id: 902, failureMode: "stale", sku: "pipeline:c-gated" }),
      live({ id: 903, failureMode: "conflict" }),
    ];
    const attention = line({ pipelines, live: rows }, "freshness");
    expect(attention.status).toBe("attention");
    expect(attention.detail).toBe(
      "Stale: `a-stale`, `c-gated`. Over budget: `b-slow` (P95 7m 00s, budget 5m). 1 late delivery open (storefront-ops 1). See `/inventory pipelines`.",
    );
    expect(attention.links.map((l) => l.label)).toEqual(["EX-901", "EX-902"]);
    expect(line({ pipelines, live: rows }, "sla").key).toBe("sla");
    expect(line({ pipelines: [] }, "freshness").detail).toContain("No pipelines declared");
  });

  it("qa: counts duplicates suppressed, and a silent pipeline or unreviewed rejection needs attention", () => {
    const pass = line({ qa: { duplicates: 12, rejectedDeliveries: 3 } }, "qa");
    expect(pass.status).toBe("pass");
    expect(pass.detail).toBe(
      "Rejected events reviewed. 3 bad delivery events grouped and 12 duplicate deliveries suppressed in 24 h. All 1 pipeline reported deliveries in 24 h.",
    );
    const silent = line(
      {
        pipelines: [
          { ...(clean.pipelines[0] as ChecklistFacts["pipelines"][number]), deliveries: 0 },
        ],
        unreviewedRejections: { count: 2, examples: [] },
      },
      "qa",
    );
    expect(silent.status).toBe("attention");
    expect(silent.detail).toContain("2 rejected events not reviewed.");
    expect(silent.detail).toContain("No deliveries in 24 h from `acme-erp-to-shopify`.");
  });
});
