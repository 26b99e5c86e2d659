import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  evaluate,
  findShadowedRules,
  globMatches,
  type RoutableEvent,
} from "../../../src/routing/evaluate.js";
import { parseRoutingText } from "../../../src/routing/load.js";

const fixture = parseRoutingText(
  readFileSync(fileURLToPath(new URL("../../fixtures/routing.test.yml", import.meta.url)), "utf8"),
);

const event = (fields: Partial<RoutableEvent> = {}): RoutableEvent => ({
  client: "globex",
  sku: "SKU-1",
  sourceSystem: "erp.netsuite",
  targetSystem: "storefront.shopify",
  operation: "stock_update",
  failureMode: "conflict",
  ...fields,
});

describe("globMatches", () => {
  it.each([
    ["ads.*", "ads.google", true],
    ["ads.*", "ads.", true],
    ["ads.*", "ads", false],
    ["ads.*", "adsXgoogle", false],
    ["ads.*", "shop.ads.google", false],
    ["*", "", true],
    ["*", "anything at all", true],
    ["*.shopify", "storefront.shopify", true],
    ["*.shopify", "storefront.shopify.eu", false],
    ["storefront.*.eu", "storefront.shopify.eu", true],
    ["a*b*c", "abc", true],
    ["a*b*c", "aXbYbZc", true],
    ["a*b*c", "acb", false],
    ["acme", "acme", true],
    ["acme", "Acme", false],
    ["acme", "acme2", false],
    ["", "", true],
    ["", "x", false],
  ])("%j against %j is %s", (pattern, value, expected) => {
    expect(globMatches(pattern, value)).toBe(expected);
  });

  it.each([
    ["sku(1)+", "sku(1)+", true],
    ["sku(1)+", "sku1", false],
    ["a.c", "abc", false],
    ["[ab]", "a", false],
    ["[ab]", "[ab]", true],
    ["a?c", "abc", false],
    ["a?c", "a?c", true],
    ["^x$", "x", false],
    ["a|b", "a", false],
    ["\\d+", "\\d+", true],
    ["\\d+", "12", false],
  ])("treats regex metacharacters literally: %j against %j is %s", (pattern, value, expected) => {
    expect(globMatches(pattern, value)).toBe(expected);
  });
});

describe("evaluate", () => {
  it("routes a matching event to the first rule's role with its severity and SLA", () => {
    const decision = evaluate(
      fixture,
      event({ targetSystem: "ads.google", failureMode: "throttled" }),
    );
    expect(decision.role.name).toBe("ads-ops");
    expect(decision.role.channel).toBe("C0ADS");
    expect(decision.rule.index).toBe(0);
    expect(decision.severity).toBe("high");
    expect(decision.sla.claimMs).toBe(5 * 60_000);
  });

  it("matches any value of a list", () => {
    expect(
      evaluate(fixture, event({ targetSystem: "ads.meta", failureMode: "network" })).rule.index,
    ).toBe(0);
  });

  it("needs every field of a match to fit", () => {
    const decision = evaluate(fixture, event({ targetSystem: "ads.google", failureMode: "auth" }));
    expect(decision.rule.index).not.toBe(0);
  });

  it("lets the first matching rule win over later ones", () => {
    const decision = evaluate(
      fixture,
      event({ client: "acme", targetSystem: "ads.google", failureMode: "throttled" }),
    );
    expect(decision.role.name).toBe("ads-ops");
  });

  it("falls through to a later rule", () => {
    const decision = evaluate(fixture, event({ client: "acme" }));
    expect(decision.rule.index).toBe(1);
    expect(decision.role.name).toBe("fulfillment-ops");
    expect(decision.severity).toBe("normal");
  });

  it("sends everything else to the default route", () => {
    const decision = evaluate(fixture, event({ client: "initech" }));
    expect(decision.rule.match).toBeNull();
    expect(decision.role.name).toBe(fixture.defaultRole);
    expect(decision.sla.claimMs).toBe(15 * 60_000);
  });

  it("matches optional fields, and only `*` matches an event that leaves one out", () => {
    const config = parseRoutingText(`roles:
  ops:
    channel: C0OPS
    members: [U0ALICE]
  beauty:
    channel: C0BEAUTY
    members: [U0BOB]
routes:
  - match: { vertical: beauty }
    role: beauty
  - match: { vertical: "*", client: acme }
    role: beauty
  - role: ops
`);
    expect(evaluate(config, event({ vertical: "beauty" })).role.name).toBe("beauty");
    expect(evaluate(config, event({ vertical: "fashion" })).role.name).toBe("ops");
    expect(evaluate(config, event({ client: "acme" })).rule.index).toBe(1);
    expect(evaluate(config, event()).role.name).toBe("ops");
  });
});

describe("findShadowedRules", () => {
  const configWith = (routes: string) =>
    parseRoutingText(`roles:
  ops:
    channel: C0OPS
    members: [U0ALICE]
routes:
${routes}  - role: ops
`);

  it("finds nothing in the fixture", () => {
    expect(findShadowedRules(fixture)).toEqual([]);
  });

  it("reports a rule repeated exactly", () => {
    const config = configWith(`  - match: { client: acme }
    role: ops
  - match: { client: acme }
    role: ops
`);
    expect(findShadowedRules(config)).toEqual([{ index: 1, line: 8, shadowedBy: 0 }]);
  });

  it("reports a narrower rule below a broader one", () => {
    const config = configWith(`  - match: { targetSystem: "ads.*" }
    role: ops
  - match: { targetSystem: ads.google, failureMode: throttled }
    role: ops
  - match: { targetSystem: ["ads.google.*", ads.meta] }
    role: ops
`);
    expect(findShadowedRules(config).map((rule) => [rule.index, rule.shadowedBy])).toEqual([
      [1, 0],
      [2, 0],
    ]);
  });

  it("treats `*` as covering everything, even a field the later rule leaves out", () => {
    const config = configWith(`  - match: { client: "*" }
    role: ops
  - match: { sku: ABC }
    role: ops
`);
    expect(findShadowedRules(config).map((rule) => [rule.index, rule.shadowedBy])).toEqual([
      [1, 0],
      [2, 0],
    ]);
  });

  it("names the earliest rule that shadows", () => {
    const config = configWith(`  - match: { client: [acme, globex] }
    role: ops
  - match: { client: acme }
    role: ops
  - match: { client: acme, sku: X }
    role: ops
`);
    expect(findShadowedRules(config).map((rule) => [rule.index, rule.shadowedBy])).toEqual([
      [1, 0],
      [2, 0],
    ]);
  });

  it.each([
    [
      "a broader rule below a narrower one",
      `  - match: { targetSystem: ads.google }\n    role: ops\n  - match: { targetSystem: "ads.*" }\n    role: ops\n`,
    ],
    [
      "an earlier rule constraining a field the later one leaves open",
      `  - match: { client: acme, failureMode: auth }\n    role: ops\n  - match: { client: acme }\n    role: ops\n`,
    ],
    [
      "overlapping but different patterns",
      `  - match: { targetSystem: "ads.*" }\n    role: ops\n  - match: { targetSystem: "*.google" }\n    role: ops\n`,
    ],
    [
      "a list only partly covered",
      `  - match: { client: acme }\n    role: ops\n  - match: { client: [acme, globex] }\n    role: ops\n`,
    ],
    [
      "a rule covered only by two earlier rules together",
      `  - match: { failureMode: auth }\n    role: ops\n  - match: { failureMode: network }\n    role: ops\n  - match: { failureMode: [auth, network] }\n    role: ops\n`,
    ],
  ])("does not report %s", (_case, routes) => {
    expect(findShadowedRules(configWith(routes))).toEqual([]);
  });

  it("reports a default route that an earlier catch-all leaves nothing for", () => {
    const config = configWith(`  - match: { targetSystem: "*" }
    role: ops
`);
    expect(findShadowedRules(config)).toEqual([{ index: 1, line: 8, shadowedBy: 0 }]);
  });
});
