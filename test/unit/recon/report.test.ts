import { describe, expect, it } from "vitest";
import { blockKitViolations } from "../../../dev/slack/block-kit-limits.js";
import { renderRunReport } from "../../../src/recon/report.js";
import { csvField } from "../../../src/recon/report-file.js";
import type { RunSummary } from "../../../src/recon/run-summary.js";

const run: RunSummary = {
  runId: 12,
  client: "acme",
  system: "storefront.shopify",
  sourceSystem: "erp.netsuite",
  outcome: "compared",
  reason: null,
  compareMs: 812,
  matched: 989_000,
  mismatched: 10_000,
  missing: 1000,
  unexpected: 1000,
  absDeltaSum: 144_996,
  deltaHash: "ab".repeat(32),
};

describe("the delta report", () => {
  it("counts every class and lists the largest deltas within Slack's limits, escaped", () => {
    const top = Array.from({ length: 20 }, (_, i) => ({
      sku: `<!channel>${"X".repeat(150)}${i}`,
      class: "mismatch" as const,
      sourceQuantity: 10,
      consumerQuantity: 10 + i,
      delta: i,
    }));
    const report = renderRunReport(run, top);
    const text = JSON.stringify(report);
    expect(report.text).toContain("12000 SKUs differ (sum of |delta| 144996)");
    expect(text).toContain(
      "*989000* matched · *10000* quantity mismatch · *1000* missing in storefront.shopify",
    );
    expect(text).not.toContain("<!channel>");
    expect(blockKitViolations(report, "message")).toEqual([]);
  });

  it("says why nothing was compared", () => {
    const report = renderRunReport(
      { ...run, outcome: "skipped", reason: "no complete snapshot of erp.netsuite" },
      [],
    );
    expect(report.text).toContain("nothing compared: no complete snapshot of erp.netsuite");
  });

  it("writes CSV fields a spreadsheet reads as text", () => {
    expect(csvField('A,"1"')).toBe('"A,""1"""');
    expect(csvField("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvField(-3)).toBe("-3");
    expect(csvField(null)).toBe("");
  });
});
