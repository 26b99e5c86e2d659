import { describe, expect, it } from "vitest";
import {
  DAY_MS,
  HOUR_MS,
  type ParseResult,
  parseInventoryCommand,
} from "../../../src/inventory/command-args.js";

const roles = ["fulfillment-ops", "ads-ops"];
const parse = (text: string): ParseResult => parseInventoryCommand(text, { roles });
const status = (text: string) => {
  const result = parse(text);
  if (!result.ok) throw new Error(`expected ok, got: ${result.error}`);
  if (result.command.kind !== "status") throw new Error(`expected status: ${result.command.kind}`);
  return result.command.args;
};
const error = (text: string): string => {
  const result = parse(text);
  if (result.ok) throw new Error(`expected an error for ${JSON.stringify(text)}`);
  return result.error;
};

describe("parseInventoryCommand: good input", () => {
  it("reads subcommands, case-insensitively, with help as the default", () => {
    expect(parse("")).toEqual({ ok: true, command: { kind: "help" } });
    expect(parse("   ")).toEqual({ ok: true, command: { kind: "help" } });
    expect(parse("help")).toEqual({ ok: true, command: { kind: "help" } });
    expect(parse("MINE")).toEqual({ ok: true, command: { kind: "mine" } });
    expect(parse(" checklist ")).toEqual({ ok: true, command: { kind: "checklist" } });
  });

  it("defaults status to the last 7 days of everything", () => {
    expect(status("status")).toEqual({ windowMs: 7 * DAY_MS, windowLabel: "7d" });
  });

  it("tells client, role and window apart in any order", () => {
    const expected = {
      client: "acme",
      role: "ads-ops",
      windowMs: 24 * HOUR_MS,
      windowLabel: "24h",
    };
    expect(status("status acme ads-ops 24h")).toEqual(expected);
    expect(status("status 24h ads-ops acme")).toEqual(expected);
    expect(status("status ads-ops acme 24h")).toEqual(expected);
  });

  it("reads each filter alone", () => {
    expect(status("status acme")).toEqual({
      client: "acme",
      windowMs: 7 * DAY_MS,
      windowLabel: "7d",
    });
    expect(status("status fulfillment-ops")).toMatchObject({ role: "fulfillment-ops" });
    expect(status("status 30d")).toEqual({ windowMs: 30 * DAY_MS, windowLabel: "30d" });
    expect(status("status 2w")).toEqual({ windowMs: 14 * DAY_MS, windowLabel: "2w" });
    expect(status("status 1h")).toEqual({ windowMs: HOUR_MS, windowLabel: "1h" });
    expect(status("status 30d")).toEqual({ windowMs: 30 * DAY_MS, windowLabel: "30d" });
    expect(status("status 4w")).toEqual({ windowMs: 28 * DAY_MS, windowLabel: "4w" });
    expect(status("status 7D")).toMatchObject({ windowLabel: "7d" });
  });

  it("lets key=value say what a token is: a client named like a role or a number", () => {
    expect(status("status client=ads-ops")).toEqual({
      client: "ads-ops",
      windowMs: 7 * DAY_MS,
      windowLabel: "7d",
    });
    expect(status("status client=42 role=ads-ops since=48h")).toEqual({
      client: "42",
      role: "ads-ops",
      windowMs: 48 * HOUR_MS,
      windowLabel: "48h",
    });
  });

  it("filters by vertical, given as vertical=, with the other filters", () => {
    expect(status("status vertical=apparel")).toEqual({
      vertical: "apparel",
      windowMs: 7 * DAY_MS,
      windowLabel: "7d",
    });
    expect(status("status acme ads-ops vertical=beauty 24h")).toMatchObject({
      client: "acme",
      role: "ads-ops",
      vertical: "beauty",
      windowLabel: "24h",
    });
    expect(error("status vertical=a vertical=b")).toBe(
      "I read both `a` and `b` as a vertical; give one vertical.",
    );
    expect(error("status vertical=<!here>")).toContain("is not a vertical");
  });

  it("reads claim and unclaim with an exception and an optional reason", () => {
    expect(parse("claim EX-12 the WMS is mine")).toEqual({
      ok: true,
      command: { kind: "claim", exceptionId: 12, reason: "the WMS is mine" },
    });
    expect(parse("unclaim 7")).toEqual({ ok: true, command: { kind: "unclaim", exceptionId: 7 } });
    expect(error("claim")).toContain("needs the exception");
    expect(error("unclaim ST-3")).toContain("`ST-3` is not one");
    expect(error(`claim EX-1 ${"x".repeat(501)}`)).toBe("Keep the reason under 500 characters.");
  });

  it("keeps client names with dots, dashes and digits", () => {
    expect(status("status nordic-outdoor.eu")).toMatchObject({ client: "nordic-outdoor.eu" });
    expect(status("status 7eleven")).toMatchObject({ client: "7eleven" });
  });

  it("hands `routes …` to the routing review whole", () => {
    expect(parse("routes test client=acme")).toEqual({
      ok: true,
      command: { kind: "routes", text: "test client=acme" },
    });
  });
});

describe("parseInventoryCommand: bad input says what was wrong", () => {
  it("names an unknown subcommand and suggests the near one", () => {
    expect(error("stauts")).toBe(
      "I don't know `/inventory stauts`. Did you mean `/inventory status`?",
    );
    expect(error("frobnicate")).toBe("I don't know `/inventory frobnicate`.");
  });

  it("refuses arguments where none belong", () => {
    expect(error("mine please")).toBe("`/inventory mine` takes no arguments, but got `please`.");
    expect(error("checklist now 7d")).toContain("takes no arguments, but got `now` `7d`");
  });

  it("explains a window without a unit, with an unknown unit, empty or too long", () => {
    expect(error("status 7")).toContain("`7` needs a unit: 7h, 7d or 7w");
    expect(error("status 7")).toContain("write `client=7`");
    expect(error("status 5m")).toContain("`5m` has an unknown unit: use hours, days or weeks");
    expect(error("status 3months")).toContain("has an unknown unit");
    expect(error("status 0d")).toContain("`0d` is empty: look back at least 1h");
    expect(error("status 31d")).toContain("`31d` is longer than the 30 days status looks back");
    expect(error("status 5w")).toContain("`5w` is longer than the 30 days");
    expect(error("status since=soon")).toContain("`soon` is not a time window");
  });

  it("refuses two of a kind", () => {
    expect(error("status acme globex")).toBe(
      "I read both `acme` and `globex` as a client; give one client.",
    );
    expect(error("status ads-ops fulfillment-ops")).toContain("as a role; give one role");
    expect(error("status 24h 7d")).toBe("I read both `24h` and `7d` as the time window; give one.");
  });

  it("names the roles when role= names none of them", () => {
    expect(error("status role=ops")).toBe(
      "There is no role `ops`. Roles: `fulfillment-ops`, `ads-ops`.",
    );
  });

  it("refuses what cannot be a client name, escaped so it cannot ping anyone", () => {
    const message = error("status <!channel>");
    expect(message).toContain("`&lt;!channel&gt;` is not a client name");
    expect(message).not.toContain("<!channel>");
    expect(error(`status ${"a".repeat(101)}`)).toContain("is longer than 100 characters");
  });
});

describe("parseInventoryCommand: recon", () => {
  it("lists all, lists one client, or runs one client", () => {
    expect(parse("recon")).toEqual({ ok: true, command: { kind: "recon", run: false } });
    expect(parse("recon acme")).toEqual({
      ok: true,
      command: { kind: "recon", run: false, client: "acme" },
    });
    expect(parse("recon run acme")).toEqual({
      ok: true,
      command: { kind: "recon", run: true, client: "acme" },
    });
  });

  it("wants exactly one client to run, and a real client name", () => {
    expect(error("recon run")).toBe("Say which client: `/inventory recon run acme`.");
    expect(error("recon run acme globex")).toContain("takes one client");
    expect(error("recon <!here>")).toContain("`&lt;!here&gt;` is not a client name");
  });
});
