/**
 * Pipelines in the routing file: the inventory event matrix, read with the same care as routes
 * (every problem with its line), first match wins, shown in the diff and in `routes test`.
 */
import { describe, expect, it } from "vitest";
import { diffLines, diffRouting, isEmptyDiff } from "../../../src/routing/diff.js";
import { pipelineFor } from "../../../src/routing/evaluate.js";
import { parseRoutingText, RoutingFileError } from "../../../src/routing/load.js";
import { answerTest, testEvent } from "../../../src/routing/routes-command.js";
import { testText } from "../../../src/routing/routes-views.js";

const BASE = `roles:
  ops:
    channel: C0OPS
    members: [U0ALICE]
    timezone: Europe/Berlin
  store:
    channel: C0STORE
    members: [U0BOB]
    timezone: America/New_York
routes:
  - match: { targetSystem: "storefront.*" }
    role: store
  - role: ops
`;

const PIPELINES = `pipelines:
  - name: acme-erp-to-shopify
    match: { client: acme, sourceSystem: erp.netsuite, targetSystem: "storefront.*" }
    budget: 5m
    freshness: 30m
    hours: "Mon-Fri 08:00-18:00"
  - name: ads
    match: { targetSystem: ["ads.*", "crm.*"] }
    budget: 15m
    freshness: 2h
    role: store
  - name: rest
    budget: 1h
    freshness: 1d
`;

function problemsIn(text: string): string[] {
  try {
    parseRoutingText(text, "routing.yml");
  } catch (error) {
    if (error instanceof RoutingFileError) return error.message.split("\n");
    throw error;
  }
  throw new Error("expected the routing file to be rejected");
}

describe("pipelines in the routing file", () => {
  const config = parseRoutingText(BASE + PIPELINES);

  it("are read with their budget, freshness, hours, owner, zone and line", () => {
    expect(config.pipelines.map((p) => [p.name, p.role, p.roleDeclared, p.line])).toEqual([
      ["acme-erp-to-shopify", "store", false, 15],
      ["ads", "store", true, 20],
      ["rest", "ops", false, 25],
    ]);
    const [acme] = config.pipelines;
    expect(acme).toMatchObject({ budgetMs: 300_000, freshnessMs: 1_800_000 });
    expect(acme?.hours?.text).toBe("Mon-Fri 08:00-18:00");
    // The owning role's zone: store works New York hours.
    expect(acme?.timezone).toBe("America/New_York");
    expect(config.pipelines[2]?.hours).toBeNull();
  });

  it("take a delivery first-match, by client, source and target globs", () => {
    const of = (client: string, sourceSystem: string, targetSystem: string) =>
      pipelineFor(config, { client, sourceSystem, targetSystem })?.name ?? null;
    expect(of("acme", "erp.netsuite", "storefront.shopify")).toBe("acme-erp-to-shopify");
    expect(of("acme", "erp.sap", "storefront.shopify")).toBe("rest");
    expect(of("globex", "erp.netsuite", "crm.hubspot")).toBe("ads");
    expect(of("acme", "erp.netsuite", "ads.google")).toBe("ads");
    // No catch-all: a delivery can belong to none.
    const narrow = parseRoutingText(
      `${BASE}pipelines:\n  - name: a\n    match: { client: acme }\n    budget: 1m\n    freshness: 1h\n`,
    );
    expect(pipelineFor(narrow, { client: "globex", targetSystem: "x" })).toBeNull();
    // A delivery without a sourceSystem matches only `*` there, as in routes.
    expect(pipelineFor(config, { client: "acme", targetSystem: "storefront.shopify" })?.name).toBe(
      "rest",
    );
  });

  it("a file without pipelines has none", () => {
    expect(parseRoutingText(BASE).pipelines).toEqual([]);
  });

  it.each([
    [
      "an unknown role",
      "  - name: a\n    budget: 1m\n    freshness: 1h\n    role: nobody\n",
      'routing.yml:18: pipelines[0].role: role "nobody" is not defined (roles: ops, store)',
    ],
    [
      "a duplicate name",
      "  - name: a\n    budget: 1m\n    freshness: 1h\n  - name: a\n    budget: 2m\n    freshness: 1h\n",
      'routing.yml:18: pipelines[1].name: pipeline "a" is already declared (pipelines[0]): names must be unique',
    ],
    [
      "a bad budget",
      "  - name: a\n    budget: 5 minutes\n    freshness: 1h\n",
      'routing.yml:16: pipelines[0].budget: invalid duration "5 minutes": expected a duration like 90s, 15m, 2h, 1d or 1h30m',
    ],
    [
      "a missing freshness",
      "  - name: a\n    budget: 5m\n",
      "routing.yml:15: pipelines[0].freshness: is required",
    ],
    [
      "bad hours",
      '  - name: a\n    budget: 5m\n    freshness: 1h\n    hours: "Mon-Fri 18:00-08:00"\n',
      'routing.yml:18: pipelines[0].hours: invalid hours "Mon-Fri 18:00-08:00": the end must be after the start (a window cannot cross midnight)',
    ],
    [
      "a key routes have but pipelines do not",
      "  - name: a\n    match: { failureMode: throttled }\n    budget: 5m\n    freshness: 1h\n",
      'routing.yml:16: pipelines[0].match.failureMode: unknown key "failureMode" (expected one of: client, sourceSystem, targetSystem)',
    ],
    [
      "an empty match",
      "  - name: a\n    match: {}\n    budget: 5m\n    freshness: 1h\n",
      "routing.yml:16: pipelines[0].match: match must name at least one field; leave match out to take every delivery",
    ],
    [
      "a name that cannot be a label",
      '  - name: "acme erp"\n    budget: 5m\n    freshness: 1h\n',
      "routing.yml:15: pipelines[0].name: pipeline names use letters, digits, '.', '_' and '-' (at most 64)",
    ],
    [
      "a zero budget",
      "  - name: a\n    budget: 0m\n    freshness: 1h\n",
      'routing.yml:16: pipelines[0].budget: duration "0m" must be greater than zero',
    ],
  ])("refuses %s with its line", (_what, pipelines, message) => {
    expect(problemsIn(`${BASE}pipelines:\n${pipelines}`)).toContain(message);
  });

  it("refuses pipelines that are not a list", () => {
    expect(problemsIn(`${BASE}pipelines: { a: 1 }\n`)).toContain(
      "routing.yml:14: pipelines: expected a list of pipelines",
    );
  });
});

describe("the diff of a routing change", () => {
  const before = parseRoutingText(BASE + PIPELINES);

  it("shows pipelines added, removed, changed and moved, and their roles are affected", () => {
    const after = parseRoutingText(
      `${BASE}pipelines:
  - name: ads
    match: { targetSystem: ["ads.*", "crm.*"] }
    budget: 10m
    freshness: 2h
    role: store
  - name: acme-erp-to-shopify
    match: { client: acme, sourceSystem: erp.netsuite, targetSystem: "storefront.*" }
    budget: 5m
    freshness: 30m
    hours: "Mon-Fri 08:00-18:00"
  - name: wms
    match: { sourceSystem: "wms.*" }
    budget: 10m
    freshness: 1h
`,
    );
    const diff = diffRouting(before, after);
    expect(isEmptyDiff(diff)).toBe(false);
    expect(diffLines(diff)).toEqual([
      "~ pipeline ads (line 15): budget 15m → 10m",
      "+ pipeline wms (line 25): sourceSystem=wms.*, budget 10m, freshness 1h, hours always → ops (from routes)",
      "− pipeline rest (was line 25): every delivery, budget 1h, freshness 1d, hours always → ops (from routes)",
      "↕ pipeline moved 1 → 2: acme-erp-to-shopify",
    ]);
    expect(diff.affectedRoles).toEqual(["ops", "store"]);
  });

  it("is empty when the pipelines are the same", () => {
    expect(isEmptyDiff(diffRouting(before, parseRoutingText(BASE + PIPELINES)))).toBe(true);
  });
});

describe("/inventory routes test", () => {
  const config = parseRoutingText(BASE + PIPELINES);

  it("says which pipeline such a delivery belongs to", () => {
    const event = testEvent({
      client: "acme",
      sourceSystem: "erp.netsuite",
      targetSystem: "storefront.shopify",
    });
    const answer = answerTest(config, event);
    expect(answer.pipeline).toMatchObject({
      name: "acme-erp-to-shopify",
      position: 1,
      line: 15,
      budget: "5m",
      freshness: "30m",
    });
    const text = testText({ client: "acme" }, [{ label: "v1 (active)", answer }]);
    expect(text).toContain("Pipeline: *acme-erp-to-shopify* (1, line 15) · budget 5m");
  });

  it("says when no pipeline takes it", () => {
    const narrow = parseRoutingText(BASE);
    const answer = answerTest(narrow, testEvent({ client: "acme" }));
    expect(answer.pipeline).toBeNull();
    expect(testText({ client: "acme" }, [{ label: "v1", answer }])).toContain(
      "Pipeline: none declared matches",
    );
  });
});
