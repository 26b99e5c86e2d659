/** A routing file that breaks the contract is refused whole, each problem with its line. */
import { describe, expect, it } from "vitest";
import {
  parseRoutingText,
  RoutingFileError,
  type RoutingFileIssue,
} from "../../../src/routing/load.js";
import { DEFAULT_ROUTE, ROLES } from "./routing-text.js";

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
