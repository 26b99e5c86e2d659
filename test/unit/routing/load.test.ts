import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  checkYaml,
  loadRoutingFile,
  parseRoutingText,
  RoutingFileError,
} from "../../../src/routing/load.js";
import { DEFAULT_ROUTE, ROLES } from "./routing-text.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

describe("parseRoutingText accepts", () => {
  it("the smallest useful file: one role, one default route", () => {
    const config = parseRoutingText(ROLES + DEFAULT_ROUTE);
    expect(config.defaultRole).toBe("ops");
    expect(config.roles.ops).toMatchObject({
      name: "ops",
      channel: "C0OPS",
      members: ["U0ALICE"],
      managers: [],
    });
    expect(config.routes).toEqual([
      expect.objectContaining({ index: 0, match: null, role: "ops", severity: "normal", line: 6 }),
    ]);
    expect(config.admins).toEqual([]);
    expect(config.clients).toEqual({});
  });

  it("the example file at the repository root", async () => {
    const config = await loadRoutingFile(join(repoRoot, "routing.example.yml"));
    expect(Object.keys(config.roles).sort()).toEqual([
      "ads-ops",
      "fulfillment-ops",
      "storefront-ops",
    ]);
    expect(config.clients.acme).toEqual({
      sourceOfTruth: {
        default: "erp.netsuite",
        byTarget: [{ target: "ads.*", system: "pim.akeneo" }],
      },
      owner: "fulfillment-ops",
      tolerance: 0,
    });
    expect(config.defaultRole).toBe("fulfillment-ops");
    expect(config.producers).toEqual([
      { sourceSystem: "google-merchant*", role: "ads-ops" },
      { sourceSystem: "erp.*", role: "fulfillment-ops" },
    ]);
  });

  it("the test fixture, with the values tests rely on", async () => {
    const config = await loadRoutingFile(join(repoRoot, "test/fixtures/routing.test.yml"));
    expect(config.roles["fulfillment-ops"]).toMatchObject({
      channel: "C0FULFILL",
      members: ["U0ALICE", "U0BOB"],
      managers: ["U0MGR"],
      usergroup: "S0FULFILL",
    });
    expect(config.roles["ads-ops"]).toMatchObject({
      channel: "C0ADS",
      members: ["U0CAROL"],
      managers: ["U0MGR2"],
    });
    expect(config.routes.map((rule) => [rule.match, rule.role, rule.severity])).toEqual([
      [{ targetSystem: ["ads.*"], failureMode: ["throttled", "network"] }, "ads-ops", "high"],
      [{ client: ["acme"] }, "fulfillment-ops", "normal"],
      [null, "fulfillment-ops", "normal"],
    ]);
    expect(config.routes[0]?.sla.claimMs).toBe(5 * 60_000);
    expect(config.defaultRole).toBe("fulfillment-ops");
  });

  it("a single match value as a one-item list", () => {
    const config = parseRoutingText(`${ROLES}routes:
  - match: { client: acme, failureMode: [auth, network] }
    role: ops
  - role: ops
`);
    expect(config.routes[0]?.match).toEqual({ client: ["acme"], failureMode: ["auth", "network"] });
  });

  it("members that come only from a user group", () => {
    const config = parseRoutingText(`roles:
  ops:
    channel: C0OPS
    usergroup: S0OPS
${DEFAULT_ROUTE}`);
    expect(config.roles.ops).toMatchObject({ members: [], usergroup: "S0OPS" });
  });

  it("admins and clients", () => {
    const config = parseRoutingText(`admins: [U0ADMIN, W0ENTERPRISE]
clients:
  acme: { sourceOfTruth: erp.netsuite, owner: ops }
${ROLES}${DEFAULT_ROUTE}`);
    expect(config.admins).toEqual(["U0ADMIN", "W0ENTERPRISE"]);
    expect(config.clients).toEqual({
      acme: {
        sourceOfTruth: { default: "erp.netsuite", byTarget: [] },
        owner: "ops",
        tolerance: 0,
      },
    });
  });

  it("a source of truth per target glob, in the order written", () => {
    const config = parseRoutingText(`clients:
  acme:
    sourceOfTruth: { "ads.*": pim.akeneo, default: erp.netsuite, "storefront.*": wms.shipbob }
    owner: ops
    tolerance: 3
${ROLES}${DEFAULT_ROUTE}`);
    const truth = config.clients.acme?.sourceOfTruth;
    expect(truth).toEqual({
      default: "erp.netsuite",
      byTarget: [
        { target: "ads.*", system: "pim.akeneo" },
        { target: "storefront.*", system: "wms.shipbob" },
      ],
    });
    expect(config.clients.acme?.tolerance).toBe(3);
  });

  it("refuses a source of truth that is neither a system nor a map of systems", () => {
    expect(() =>
      parseRoutingText(
        `clients:\n  acme:\n    sourceOfTruth: [erp]\n    owner: ops\n${ROLES}${DEFAULT_ROUTE}`,
      ),
    ).toThrow(/expected a system \(erp.netsuite\) or a map of target glob -> system/);
    expect(() =>
      parseRoutingText(
        `clients:\n  acme:\n    sourceOfTruth: {}\n    owner: ops\n${ROLES}${DEFAULT_ROUTE}`,
      ),
    ).toThrow(/the map must not be empty/);
    expect(() =>
      parseRoutingText(
        `clients:\n  acme:\n    sourceOfTruth: erp\n    owner: ops\n    tolerance: -1\n${ROLES}${DEFAULT_ROUTE}`,
      ),
    ).toThrow(/tolerance/);
  });

  it("retry queues: none unless listed, each once", () => {
    expect(parseRoutingText(`${ROLES}${DEFAULT_ROUTE}`).retryQueues).toEqual([]);
    const config = parseRoutingText(
      `retryQueues: [storefront-sync, "feed-*", storefront-sync]\n${ROLES}${DEFAULT_ROUTE}`,
    );
    expect(config.retryQueues).toEqual(["storefront-sync", "feed-*"]);
  });
});

describe("SLA resolution: defaults < role < route", () => {
  const text = `roles:
  ops:
    channel: C0OPS
    members: [U0ALICE]
    sla: { claim: 30m, nudgeAt: [100%, 25%], maxEscalations: 0 }
    hours: "Mon-Fri 08:00-18:00"
    timezone: Europe/Berlin
  plain:
    channel: C0PLAIN
    members: [U0BOB]
routes:
  - match: { client: acme }
    role: ops
    severity: critical
    sla: { claim: 5m, remindClaimerAt: "off" }
    hours: always
  - match: { client: globex }
    role: ops
  - role: plain
`;
  const config = parseRoutingText(text);

  it("fills a role's SLA from the defaults", () => {
    expect(config.roles.plain?.sla).toEqual({
      claimMs: 15 * 60_000,
      resolveMs: 2 * 3_600_000,
      nudgeAt: [0.5, 1],
      remindClaimerAt: 0.75,
      repeatMs: 3_600_000,
      maxEscalations: 3,
      hours: null,
      timezone: "UTC",
    });
  });

  it("lets the role override some fields and keeps the defaults for the rest", () => {
    expect(config.roles.ops?.sla).toEqual({
      claimMs: 30 * 60_000,
      resolveMs: 2 * 3_600_000,
      nudgeAt: [0.25, 1],
      remindClaimerAt: 0.75,
      repeatMs: 3_600_000,
      maxEscalations: 0,
      hours: {
        days: [1, 2, 3, 4, 5],
        startMinute: 480,
        endMinute: 1080,
        text: "Mon-Fri 08:00-18:00",
      },
      timezone: "Europe/Berlin",
    });
  });

  it("lets a route override the role, including switching hours and reminders off", () => {
    expect(config.routes[0]?.severity).toBe("critical");
    expect(config.routes[0]?.sla).toEqual({
      ...config.roles.ops?.sla,
      claimMs: 5 * 60_000,
      remindClaimerAt: null,
      hours: null,
    });
  });

  it("gives a route without overrides exactly its role's SLA", () => {
    expect(config.routes[1]?.sla).toEqual(config.roles.ops?.sla);
    expect(config.routes[2]?.sla).toEqual(config.roles.plain?.sla);
  });
});

describe("loadRoutingFile", () => {
  it("reports a missing file as a RoutingFileError", async () => {
    const path = join(tmpdir(), "syncdesk-no-such-routing.yml");
    const error = await loadRoutingFile(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RoutingFileError);
    expect((error as RoutingFileError).message).toBe(`${path}: file not found`);
  });

  it("names the file it read in its errors", async () => {
    const dir = await mkdtemp(join(tmpdir(), "syncdesk-routing-"));
    try {
      const path = join(dir, "routing.yml");
      await writeFile(path, `${ROLES}routes:\n  - role: ghost\n`);
      await expect(loadRoutingFile(path)).rejects.toThrow(`${path}:6: routes[0].role:`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("checkYaml", () => {
  it("finds every duplicate key with its line, at any depth", () => {
    const text = `roles:
  ops:
    channel: C0OPS
    channel: C0OTHER
routes: []
routes: []
`;
    expect(checkYaml(text)).toEqual([
      { line: 4, path: "", message: expect.stringContaining('duplicate key "channel"') },
      { line: 6, path: "", message: expect.stringContaining('duplicate key "routes"') },
    ]);
  });

  it("finds nothing wrong with well-formed YAML, whatever it says", () => {
    expect(checkYaml("anything: [goes, here]\n")).toEqual([]);
  });
});
