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
  type RoutingFileIssue,
} from "../../../src/routing/load.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The issues a rejected file reports; fails the test if the file is accepted. */
function problemsIn(text: string): RoutingFileIssue[] {
  try {
    parseRoutingText(text);
  } catch (error) {
    if (error instanceof RoutingFileError) return error.issues;
    throw error;
  }
  throw new Error("expected the routing file to be rejected");
}

/** 1-based line of the first line containing `needle` (the nth one with `occurrence`). */
function lineOf(text: string, needle: string, occurrence = 1): number {
  let seen = 0;
  const index = text
    .split("\n")
    .findIndex((line) => line.includes(needle) && ++seen === occurrence);
  if (index === -1) throw new Error(`${needle} is not in the text`);
  return index + 1;
}

const ROLES = `roles:
  ops:
    channel: C0OPS
    members: [U0ALICE]
`;
const DEFAULT_ROUTE = `routes:
  - role: ops
`;

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

describe("parseRoutingText rejects, pointing at the line", () => {
  it.each([
    [
      "an undefined route role",
      `${ROLES}routes:\n  - role: ghost\n`,
      "role: ghost",
      /role "ghost" is not defined/,
    ],
    [
      "an unknown top-level key",
      `${ROLES}${DEFAULT_ROUTE}escalation: fast\n`,
      "escalation:",
      /unknown key "escalation"/,
    ],
    [
      "an unknown role key",
      `roles:\n  ops:\n    channel: C0OPS\n    members: [U0ALICE]\n    colour: red\n${DEFAULT_ROUTE}`,
      "colour:",
      /unknown key "colour"/,
    ],
    [
      "an unknown route key",
      `${ROLES}routes:\n  - role: ops\n    severty: high\n`,
      "severty:",
      /unknown key "severty"/,
    ],
    [
      "an unknown match key",
      `${ROLES}routes:\n  - match:\n      warehouse: berlin\n    role: ops\n  - role: ops\n`,
      "warehouse:",
      /unknown key "warehouse" \(expected one of: eventId, client/,
    ],
    [
      "an unknown SLA key",
      `roles:\n  ops:\n    channel: C0OPS\n    members: [U0ALICE]\n    sla:\n      claimBy: 5m\n${DEFAULT_ROUTE}`,
      "claimBy:",
      /unknown key "claimBy"/,
    ],
    [
      "a bad duration",
      `roles:\n  ops:\n    channel: C0OPS\n    members: [U0ALICE]\n    sla:\n      resolve: 2 hours\n${DEFAULT_ROUTE}`,
      "resolve:",
      /invalid duration "2 hours"/,
    ],
    [
      "a zero duration",
      `roles:\n  ops:\n    channel: C0OPS\n    members: [U0ALICE]\n    sla:\n      repeat: 0s\n${DEFAULT_ROUTE}`,
      "repeat:",
      /greater than zero/,
    ],
    [
      "a duration written as a number",
      `roles:\n  ops:\n    channel: C0OPS\n    members: [U0ALICE]\n    sla:\n      claim: 15\n${DEFAULT_ROUTE}`,
      "claim:",
      /expected a duration/,
    ],
    [
      "a percentage out of range",
      `roles:\n  ops:\n    channel: C0OPS\n    members: [U0ALICE]\n    sla:\n      nudgeAt: [50%, 2000%]\n${DEFAULT_ROUTE}`,
      "nudgeAt:",
      /"2000%" is out of range/,
    ],
    [
      "a negative escalation count",
      `roles:\n  ops:\n    channel: C0OPS\n    members: [U0ALICE]\n    sla:\n      maxEscalations: -1\n${DEFAULT_ROUTE}`,
      "maxEscalations:",
      /maxEscalations/,
    ],
    [
      "a channel that is not a Slack channel ID",
      `roles:\n  ops:\n    channel: "#ops"\n    members: [U0ALICE]\n${DEFAULT_ROUTE}`,
      "channel:",
      /"#ops" is not a Slack channel ID/,
    ],
    [
      "a member that is not a Slack user ID",
      `roles:\n  ops:\n    channel: C0OPS\n    members:\n      - U0ALICE\n      - alice\n${DEFAULT_ROUTE}`,
      "- alice",
      /"alice" is not a Slack user ID/,
    ],
    [
      "a manager that is not a Slack user ID",
      `roles:\n  ops:\n    channel: C0OPS\n    members: [U0ALICE]\n    managers: [C0NOTAUSER]\n${DEFAULT_ROUTE}`,
      "managers:",
      /not a Slack user ID/,
    ],
    [
      "a usergroup that is not a Slack user group ID",
      `roles:\n  ops:\n    channel: C0OPS\n    usergroup: U0ALICE\n${DEFAULT_ROUTE}`,
      "usergroup:",
      /not a Slack user group ID/,
    ],
    [
      "an admin that is not a Slack user ID",
      `admins: [boss]\n${ROLES}${DEFAULT_ROUTE}`,
      "admins:",
      /"boss" is not a Slack user ID/,
    ],
    [
      "a retry queue BullMQ could never name",
      `retryQueues: ["feed:main"]\n${ROLES}${DEFAULT_ROUTE}`,
      "retryQueues:",
      /cannot contain ':'/,
    ],
    [
      "a role nobody can claim for",
      `roles:\n  ops:\n    channel: C0OPS\n    managers: [U0MGR]\n${DEFAULT_ROUTE}`,
      "ops:",
      /needs members or a usergroup/,
    ],
    [
      "a missing channel",
      `roles:\n  ops:\n    members: [U0ALICE]\n${DEFAULT_ROUTE}`,
      "ops:",
      /channel: is required/,
    ],
    [
      "bad support hours",
      `roles:\n  ops:\n    channel: C0OPS\n    members: [U0ALICE]\n    hours: "Mon-Fri 18:00-08:00"\n${DEFAULT_ROUTE}`,
      "hours:",
      /end must be after the start/,
    ],
    [
      "an unknown time zone",
      `roles:\n  ops:\n    channel: C0OPS\n    members: [U0ALICE]\n    timezone: Europe/Atlantis\n${DEFAULT_ROUTE}`,
      "timezone:",
      /unknown time zone "Europe\/Atlantis"/,
    ],
    [
      "a role name with spaces",
      `roles:\n  night shift:\n    channel: C0OPS\n    members: [U0ALICE]\nroutes:\n  - role: night shift\n`,
      "night shift:",
      /role names use letters/,
    ],
    [
      "an unknown severity",
      `${ROLES}routes:\n  - match: { client: acme }\n    role: ops\n    severity: urgent\n  - role: ops\n`,
      "severity:",
      /expected one of: low, normal, high, critical/,
    ],
    [
      "an empty match",
      `${ROLES}routes:\n  - match: {}\n    role: ops\n  - role: ops\n`,
      "match: {}",
      /at least one field/,
    ],
    [
      "an empty list of patterns",
      `${ROLES}routes:\n  - match:\n      client: []\n    role: ops\n  - role: ops\n`,
      "client: []",
      /must not be empty/,
    ],
    [
      "a match value YAML reads as a number",
      `${ROLES}routes:\n  - match:\n      sku: 007\n    role: ops\n  - role: ops\n`,
      "sku: 007",
      /quote values/,
    ],
    [
      "no default route",
      `${ROLES}routes:\n  - match: { client: acme }\n    role: ops\n`,
      "routes:",
      /no default route/,
    ],
    [
      "a default route that is not last",
      `${ROLES}routes:\n  - role: ops\n  - match: { client: acme }\n    role: ops\n`,
      "- role: ops",
      /default route .* must be the last rule/,
    ],
    [
      "two default routes",
      `${ROLES}routes:\n  - role: ops\n  - role: ops\n`,
      "- role: ops",
      /more than one default route/,
    ],
    [
      "a client owned by an undefined role",
      `clients:\n  acme:\n    sourceOfTruth: erp.netsuite\n    owner: sales\n${ROLES}${DEFAULT_ROUTE}`,
      "owner: sales",
      /role "sales" is not defined/,
    ],
    [
      "an unknown client key",
      `clients:\n  acme:\n    sourceOfTruth: erp.netsuite\n    owner: ops\n    tier: gold\n${ROLES}${DEFAULT_ROUTE}`,
      "tier:",
      /unknown key "tier"/,
    ],
    [
      "a duplicate key",
      `${ROLES}  ops:\n    channel: C0OTHER\n    members: [U0BOB]\n${DEFAULT_ROUTE}`,
      "ops:",
      /duplicate key "ops"/,
    ],
    [
      "a YAML syntax error",
      `${ROLES}routes:\n\t- role: ops\n`,
      "\t- role: ops",
      /YAML syntax error/,
    ],
  ])("%s", (kind, text, needle, message) => {
    const issues = problemsIn(text);
    expect(issues).toHaveLength(1);
    const occurrence = kind === "a duplicate key" ? 2 : 1;
    expect(issues[0]?.line).toBe(lineOf(text, needle, occurrence));
    expect(`${issues[0]?.path}: ${issues[0]?.message}`).toMatch(message);
  });

  it("reports the default route after the first one when there are two", () => {
    const text = `${ROLES}routes:\n  - role: ops\n  - role: ops\n`;
    expect(problemsIn(text)[0]).toMatchObject({
      line: lineOf(text, "- role: ops"),
      path: "routes[0]",
    });
  });

  it("reports every problem at once, in line order", () => {
    const text = `admins: [boss]
roles:
  ops:
    channel: C0OPS
    members: [U0ALICE]
    sla: { claim: soon }
    timezone: Nowhere/Land
routes:
  - match: { targetSystem: "ads.*", colour: red }
    role: ads
  - role: ops
extra: true
`;
    const issues = problemsIn(text);
    expect(issues.map((issue) => [issue.line, issue.path])).toEqual([
      [1, "admins[0]"],
      [6, "roles.ops.sla.claim"],
      [7, "roles.ops.timezone"],
      [9, "routes[0].match.colour"],
      [10, "routes[0].role"],
      [12, "extra"],
    ]);
  });

  it("writes each problem into the error message as file:line: path: message", () => {
    const text = `${ROLES}routes:\n  - role: ghost\n`;
    expect(() => parseRoutingText(text, "config/routing.yml")).toThrow(
      'config/routing.yml:6: routes[0].role: role "ghost" is not defined (roles: ops)',
    );
  });

  it("names keys that are not plain words in brackets", () => {
    const text = `clients:\n  "acme corp": { sourceOfTruth: erp, owner: nobody }\n${ROLES}${DEFAULT_ROUTE}`;
    expect(problemsIn(text)[0]?.path).toBe('clients["acme corp"].owner');
  });

  it("rejects an empty file", () => {
    expect(problemsIn("# nothing yet\n")).toEqual([
      { line: null, path: "", message: expect.stringMatching(/empty/) },
    ]);
  });

  it("rejects a file whose top level is not a map", () => {
    expect(problemsIn("- role: ops\n")[0]?.message).toMatch(/map with roles and routes/);
  });

  it("rejects a file without roles or routes", () => {
    const issues = problemsIn("admins: [U0ADMIN]\n");
    expect(issues.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
      "roles: is required",
      "routes: is required",
    ]);
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
