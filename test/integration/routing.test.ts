/**
 * Routing through the test fixture (test/fixtures/routing.test.yml): first match wins, globs,
 * lists of values, and the default route. Each exception records who owns it and why, and
 * its card lands in that role's channel.
 */
import { describe, expect, it } from "vitest";
import type { FailureEventInput } from "../../src/intake/failure-event.schema.js";
import { failureEvent } from "../support/harness.js";
import { auditOf, cardOf, DESK, posted, textOf } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness(DESK);

let seq = 0;
async function route(overrides: Partial<FailureEventInput>) {
  seq += 1;
  const sku = `SKU-ROUTE-${seq}`;
  await h.report(failureEvent({ sku, ...overrides }));
  const [row] = await posted(h, sku);
  return row!;
}

describe("routing", () => {
  it("sends ads.* throttled failures to ads-ops, high severity, in its channel", async () => {
    const row = await route({ targetSystem: "ads.google-merchant", failureMode: "throttled" });
    expect(row).toMatchObject({
      role: "ads-ops",
      channel: "C0ADS",
      severity: "high",
      ruleIndex: 0,
    });
    const card = await cardOf(h, row.id);
    expect(h.fake.messages("C0ADS").some((m) => m.ts === row.cardTs)).toBe(true);
    expect(textOf(card)).toContain("HIGH");
    expect(textOf(card)).toContain("ads-ops (rule 1)");
    const [opened] = await auditOf(h, row.id, "opened");
    expect(opened?.details).toMatchObject({ role: "ads-ops", rule: 0, severity: "high" });
  });

  it("matches any value of a list (network is in [throttled, network])", async () => {
    const row = await route({ targetSystem: "ads.meta-catalog", failureMode: "network" });
    expect(row).toMatchObject({ role: "ads-ops", ruleIndex: 0 });
  });

  it("does not match a value outside the list", async () => {
    const row = await route({
      targetSystem: "ads.google-merchant",
      failureMode: "schema_mismatch",
    });
    expect(row).toMatchObject({ role: "fulfillment-ops", channel: "C0FULFILL", ruleIndex: 2 });
  });

  it("treats the dot in ads.* literally", async () => {
    const row = await route({ targetSystem: "adsense-feed", failureMode: "throttled" });
    expect(row).toMatchObject({ role: "fulfillment-ops", ruleIndex: 2 });
  });

  it("routes client acme by its own rule", async () => {
    const row = await route({ client: "acme", targetSystem: "storefront.shopify" });
    expect(row).toMatchObject({
      role: "fulfillment-ops",
      channel: "C0FULFILL",
      ruleIndex: 1,
      severity: "normal",
    });
  });

  it("takes the first matching rule when several match", async () => {
    const row = await route({
      client: "acme",
      targetSystem: "ads.google-merchant",
      failureMode: "throttled",
    });
    expect(row).toMatchObject({ role: "ads-ops", ruleIndex: 0 });
  });

  it("sends everything else to the default route", async () => {
    const row = await route({ client: "initech", targetSystem: "wms.manhattan" });
    expect(row).toMatchObject({
      role: "fulfillment-ops",
      channel: "C0FULFILL",
      ruleIndex: 2,
      severity: "normal",
    });
    expect(textOf(await cardOf(h, row.id))).toContain("fulfillment-ops (rule 3)");
  });

  it("matches exactly, case and all", async () => {
    const row = await route({ client: "ACME" });
    expect(row.ruleIndex).toBe(2);
  });
});
