import { describe, expect, it } from "vitest";
import { diffLines, diffRouting, isEmptyDiff } from "../../../src/routing/diff.js";
import { parseRoutingText } from "../../../src/routing/load.js";

const BASE = `admins: [U0ADMIN]
clients:
  acme: { sourceOfTruth: erp.netsuite, owner: ops }
roles:
  ops:
    channel: C0OPS
    members: [U0ALICE, U0BOB]
    managers: [U0MGR]
    sla: { claim: 15m, resolve: 2h }
  ads:
    channel: C0ADS
    members: [U0CAROL]
    managers: [U0MGR2]
routes:
  - match: { targetSystem: "ads.*", failureMode: throttled }
    role: ads
    severity: high
  - match: { client: acme }
    role: ops
  - match: { targetSystem: "storefront.*" }
    role: ops
  - role: ops
`;

const config = (text: string) => parseRoutingText(text);

describe("diffRouting", () => {
  it("finds nothing between a version and itself, even reformatted with comments", () => {
    const reformatted = `# a comment\n${BASE.replace("members: [U0ALICE, U0BOB]", "members:\n      - U0ALICE\n      - U0BOB")}`;
    const diff = diffRouting(config(BASE), config(reformatted));
    expect(isEmptyDiff(diff)).toBe(true);
    expect(diff.affectedRoles).toEqual([]);
  });

  it("names roles added and removed, members, managers, channel and SLA values", () => {
    const next = BASE.replace("channel: C0OPS", "channel: C0OPS2")
      .replace("members: [U0ALICE, U0BOB]", "members: [U0ALICE, U0DAVE]")
      .replace("managers: [U0MGR]", "managers: [U0MGR, U0MGR9]")
      .replace("sla: { claim: 15m, resolve: 2h }", "sla: { claim: 5m, resolve: 2h }")
      .replace("routes:", "  storefront:\n    channel: C0SHOP\n    members: [U0EVE]\nroutes:");
    const diff = diffRouting(config(BASE), config(next));
    expect(diff.rolesAdded).toEqual(["storefront"]);
    expect(diff.rolesChanged).toEqual([
      {
        role: "ops",
        changes: [
          "channel C0OPS → C0OPS2",
          "members added: U0DAVE",
          "members removed: U0BOB",
          "managers added: U0MGR9",
          "sla.claim 15m → 5m",
        ],
      },
    ]);
    expect(diff.affectedRoles).toEqual(["ops", "storefront"]);
  });

  it("shows a rule whose role changes, a removed role, and admins", () => {
    const next = BASE.replace(
      `  ads:
    channel: C0ADS
    members: [U0CAROL]
    managers: [U0MGR2]
`,
      "",
    )
      .replace("role: ads\n    severity: high", "role: ops\n    severity: high")
      .replace("admins: [U0ADMIN]", "admins: [U0ADMIN2]");
    const diff = diffRouting(config(BASE), config(next));
    expect(diff.rolesRemoved).toEqual(["ads"]);
    expect(diff.rulesChanged).toHaveLength(1);
    expect(diff.rulesChanged[0]?.changes).toEqual(["role ads → ops"]);
    expect(diff.adminsAdded).toEqual(["U0ADMIN2"]);
    expect(diff.adminsRemoved).toEqual(["U0ADMIN"]);
    expect(diffLines(diff)).toContain("− role ads");
  });

  it("reports rules that only changed order (first match wins, so order matters)", () => {
    const next = BASE.replace(
      `  - match: { client: acme }
    role: ops
  - match: { targetSystem: "storefront.*" }
    role: ops
`,
      `  - match: { targetSystem: "storefront.*" }
    role: ops
  - match: { client: acme }
    role: ops
`,
    );
    const diff = diffRouting(config(BASE), config(next));
    expect(diff.rulesAdded).toEqual([]);
    expect(diff.rulesRemoved).toEqual([]);
    expect(diff.rulesReordered).toHaveLength(1);
    expect(diffLines(diff).some((line) => line.startsWith("↕ rule moved"))).toBe(true);
    expect(diff.affectedRoles).toEqual(["ops"]);
  });

  it("does not repeat a role's SLA change on every rule of the role, but shows a rule's own override", () => {
    const next = BASE.replace(
      "sla: { claim: 15m, resolve: 2h }",
      "sla: { claim: 20m, resolve: 2h }",
    ).replace(
      "  - match: { client: acme }\n    role: ops\n",
      "  - match: { client: acme }\n    role: ops\n    sla: { resolve: 30m }\n",
    );
    const diff = diffRouting(config(BASE), config(next));
    expect(diff.rulesChanged).toHaveLength(1);
    expect(diff.rulesChanged[0]?.changes).toEqual(["sla.resolve (role's) → 30m"]);
  });

  it("shows retry queues allowed and no longer allowed", () => {
    const before = config(`retryQueues: [storefront-sync]\n${BASE}`);
    const after = config(`retryQueues: ["feed-*"]\n${BASE}`);
    const diff = diffRouting(before, after);
    expect(diff.retryQueuesAdded).toEqual(["feed-*"]);
    expect(diff.retryQueuesRemoved).toEqual(["storefront-sync"]);
    expect(isEmptyDiff(diff)).toBe(false);
    expect(diffLines(diff)).toEqual(
      expect.arrayContaining(["+ retry queues: feed-*", "− retry queues: storefront-sync"]),
    );
  });

  it("shows producer rules added and removed, and counts their roles as affected", () => {
    const before = config(`producers: [{ sourceSystem: "erp.*", role: ops }]\n${BASE}`);
    const after = config(
      `producers: [{ sourceSystem: "erp.*", role: ops }, { producer: acme-http, role: ads }]\n${BASE}`,
    );
    const diff = diffRouting(before, after);
    expect(diffLines(diff)).toContain("+ producer producer acme-http → ads");
    expect(diff.affectedRoles).toEqual(["ads"]);
    const dropped = diffRouting(after, before);
    expect(diffLines(dropped)).toContain("− producer producer acme-http → ads");
    expect(isEmptyDiff(diffRouting(before, before))).toBe(true);
  });

  it("lists client owner changes and counts both owners as affected", () => {
    const next = BASE.replace("owner: ops", "owner: ads");
    const diff = diffRouting(config(BASE), config(next));
    expect(diff.clients).toEqual(["client acme: owner ops → ads"]);
    expect(diff.affectedRoles).toEqual(["ads", "ops"]);
  });

  it("lists source-of-truth changes per target glob and tolerance changes", () => {
    const next = BASE.replace(
      "sourceOfTruth: erp.netsuite, owner: ops",
      'sourceOfTruth: { default: erp.netsuite, "ads.*": pim.akeneo }, owner: ops, tolerance: 2',
    );
    const diff = diffRouting(config(BASE), config(next));
    expect(diff.clients).toEqual([
      "client acme: source of truth for ads.* (none) → pim.akeneo",
      "client acme: reconciliation tolerance 0 → 2",
    ]);
    expect(diffLines(diff)).toEqual(
      expect.arrayContaining(["~ client acme: source of truth for ads.* (none) → pim.akeneo"]),
    );
    const back = diffRouting(config(next), config(BASE));
    expect(back.clients[0]).toBe("client acme: source of truth for ads.* pim.akeneo → (none)");
  });

  it("names the default source of truth when a single system changes", () => {
    const next = BASE.replace("sourceOfTruth: erp.netsuite", "sourceOfTruth: wms.shipbob");
    expect(diffRouting(config(BASE), config(next)).clients).toEqual([
      "client acme: source of truth erp.netsuite → wms.shipbob",
    ]);
  });
});
