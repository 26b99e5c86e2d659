import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { auditLog } from "../../src/platform/db/schema.js";
import { approveProposal } from "../../src/routing/decisions.service.js";
import { runRoutesCli } from "../../src/routing/routes-cli.js";
import { proposeChange } from "../../src/routing/versions.service.js";
import { eventually, SIGNING_SECRET } from "../support/harness.js";
import {
  ADS_TO_FULFILLMENT,
  APPROVALS,
  approvalCard,
  clickDecision,
  edit,
  GOVERNED_TEXT,
  inventory,
  routingAudit,
  startGovernedHarness,
  version,
  versions,
} from "../support/routing-helpers.js";
import { useHarness } from "../support/use-harness.js";

const run = promisify(execFile);
const h = useHarness(() => startGovernedHarness());
beforeAll(async () => {
  // v2: ads failures go to fulfillment-ops, approved by ads-ops' manager.
  const proposed = await proposeChange(h.bot.deps, {
    text: ADS_TO_FULFILLMENT,
    author: "U0ALICE",
    reason: "ads on holiday",
    via: "cli",
  });
  if (!proposed.ok) throw new Error("setup proposal refused");
  const approved = await approveProposal(h.bot.deps, { version: 2, actor: "U0MGR2", via: "slack" });
  if (!approved.ok) throw new Error("setup approval refused");
});

describe("reading routing in Slack", () => {
  it("`/inventory routes` shows the active version, who approved it and when, pending proposals and the last changes", async () => {
    await proposeChange(h.bot.deps, {
      text: edit(ADS_TO_FULFILLMENT, "claim: 30m", "claim: 45m"),
      author: "U0BOB",
      reason: "slower ads SLA",
      via: "cli",
    });
    const { answer } = await inventory(h, "U0CAROL", "routes");
    const text = (await answer()).text;
    expect(text).toContain("*Routing:* active version *v2*");
    expect(text).toMatch(/Approved by <@U0MGR2> <!date\^\d+\^/);
    expect(text).toContain("proposed by <@U0ALICE> via cli: _ads on holiday_");
    expect(text).toContain("*Pending review:*\n• *v3* proposed · proposed by <@U0BOB>");
    expect(text).toContain("*v1* superseded · proposed by `file:routing.governed.yml`");
  });

  it("`/inventory routes test` says which rule, role, channel and SLA an event gets, now and under each proposal", async () => {
    const { answer } = await inventory(
      h,
      "U0CAROL",
      "routes test client=acme targetSystem=ads.google failureMode=throttled",
    );
    const text = (await answer()).text;
    expect(text).toContain(
      "*v2 (active):* rule 1 (line 15) → *fulfillment-ops* in <#C0FULFILL> · severity high",
    );
    expect(text).toContain(
      "*v3 (proposed):* rule 1 (line 15) → *fulfillment-ops* in <#C0FULFILL> · severity high",
    );
    expect(text).toContain("SLA: claim 15m, resolve 2h, hours always (UTC)");
    const bad = await inventory(h, "U0CAROL", "routes test colour=red");
    expect((await bad.answer()).text).toContain("`colour` is not an event field");
  });

  it("`/inventory routes show` shows a version's review and YAML, with the buttons while it is pending", async () => {
    const { answer } = await inventory(h, "U0CAROL", "routes show 3");
    const shown = JSON.stringify((await answer()).blocks);
    expect(shown).toContain("slower ads SLA");
    expect(shown).toContain("sla.claim 30m → 45m");
    expect(shown).toContain("routing.approve");
    expect(shown).toContain("claim: 45m");
  });
});

describe("rollback", () => {
  it("proposes an earlier version through the same gate", async () => {
    for (const [text, expected] of [
      ["routes rollback 9", "There is no routing v9."],
      ["routes rollback 2", "v2 is the active version already."],
      [
        "routes rollback 3",
        "v3 was never active (it is proposed); only earlier active versions can be rolled back to.",
      ],
    ] as const) {
      const { answer } = await inventory(h, "U0BOB", text);
      expect((await answer()).text).toBe(expected);
    }
    const { answer } = await inventory(h, "U0BOB", "routes rollback 1 ads team is back");
    expect((await answer()).text).toContain("Proposed as *v4*, posted for review in <#C0APPROVE>");
    const row = await version(h, 4);
    expect(row).toMatchObject({
      status: "proposed",
      rollbackOf: 1,
      author: "U0BOB",
      reason: "ads team is back",
      text: GOVERNED_TEXT,
      breakGlass: false,
    });
    expect(await eventually(() => approvalCard(h, 4))).toContain("Routing v4: rollback to v1");
    const approve = await clickDecision(h, "U0MGR2", 4, "approve");
    expect((await approve.answer()).text).toBe(":white_check_mark: v4 is active.");
    expect(h.bot.deps.routing.current()).toMatchObject({ version: 4 });
    expect((await routingAudit(h)).map((a) => a.action)).toEqual(
      expect.arrayContaining([
        "routing.rollback_proposed",
        "routing.approved",
        "routing.activated",
      ]),
    );
  });

  it("break-glass: refused for non-admins and without a reason; an admin's activates at once, flagged", async () => {
    const pending = await proposeChange(h.bot.deps, {
      text: edit(GOVERNED_TEXT, "claim: 30m", "claim: 50m"),
      author: "U0BOB",
      reason: "pending",
      via: "cli",
    });
    if (!pending.ok) throw new Error("proposal refused");
    const denied = await inventory(h, "U0MGR", "routes rollback 2 --break-glass ads outage");
    expect((await denied.answer()).text).toContain(
      "Only admins listed in the active routing (v4, `admins:`) may break glass",
    );
    const noReason = await inventory(h, "U0ADMIN", "routes rollback 2 --break-glass");
    expect((await noReason.answer()).text).toContain("Break-glass needs a reason");
    expect(h.bot.deps.routing.current().version).toBe(4);

    const glass = await inventory(
      h,
      "U0ADMIN",
      "routes rollback 2 --break-glass ads outage, no time for review",
    );
    expect((await glass.answer()).text).toContain(
      ":rotating_light: v6 (the text of v2) is active now, by break-glass.",
    );
    expect(h.bot.deps.routing.current().version).toBe(6);
    expect(await version(h, 6)).toMatchObject({
      status: "active",
      breakGlass: true,
      rollbackOf: 2,
      decidedBy: "U0ADMIN",
      text: ADS_TO_FULFILLMENT,
      reason: "ads outage, no time for review",
    });
    expect((await version(h, pending.row.version)).status).toBe("rejected");
    const audit = await routingAudit(h);
    expect(audit.find((a) => a.action === "routing.break_glass_denied")).toMatchObject({
      actor: "U0MGR",
    });
    expect(audit.find((a) => a.action === "routing.break_glass")).toMatchObject({
      actor: "U0ADMIN",
      details: expect.objectContaining({ version: 6, rollbackOf: 2, breakGlass: true }),
    });
    expect(audit.filter((a) => a.action === "routing.activated").at(-1)?.details).toMatchObject({
      version: 6,
      breakGlass: true,
    });
    await eventually(async () =>
      h.fake
        .messages(APPROVALS)
        .some((m) => String(m.text).includes("Break-glass: <@U0ADMIN> activated routing v6")),
    );
    const overview = await inventory(h, "U0CAROL", "routes");
    expect((await overview.answer()).text).toContain(
      "active version *v6* :rotating_light: (break-glass)",
    );
  });
});

describe("the command line", () => {
  const TOKEN = "the-admins-break-glass-token";
  const TOKEN_SHA256 = createHash("sha256").update(TOKEN).digest("hex");
  const cli = async (...argv: string[]) => cliWith({ token: undefined }, ...argv);
  const cliWith = async (
    options: { token: string | undefined; tokenSha256?: string },
    ...argv: string[]
  ) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runRoutesCli(
      argv,
      {
        ...h.env,
        ROUTING_FILE: "/nonexistent/routing.yml",
        BREAK_GLASS_TOKEN_SHA256: options.tokenSha256 ?? TOKEN_SHA256,
      },
      {
        out: (line = "") => out.push(line),
        err: (line) => err.push(line),
      },
      { breakGlassToken: options.token },
    );
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  };
  const shellUser = `cli:${userInfo().username}`;

  it("proposes a file and breaks glass, on the same database and checks", async () => {
    const dir = await mkdtemp(join(tmpdir(), "syncdesk-cli-"));
    try {
      const file = join(dir, "routing.yml");
      await writeFile(file, edit(GOVERNED_TEXT, "claim: 30m", "claim: 55m"));
      // A shell cannot say whose Slack ID it speaks for: --as is gone, and nothing is proposed.
      expect(await cli("propose", file, "--reason", "filed as Bob", "--as", "U0BOB")).toMatchObject(
        { code: 2, stderr: expect.stringContaining("'--as'") },
      );
      const proposed = await cli("propose", file, "--reason", "from a shell");
      expect(proposed).toMatchObject({
        code: 0,
        stdout: expect.stringContaining("proposed v7; approve or reject it in Slack."),
      });
      expect(await version(h, 7)).toMatchObject({
        status: "proposed",
        source: "cli",
        author: shellUser,
        reason: "from a shell",
      });
      await writeFile(file, edit(GOVERNED_TEXT, "channel: C0ADS", "channel: C0NOPE"));
      expect(await cli("propose", file, "--reason", "typo")).toMatchObject({
        code: 1,
        stderr: expect.stringContaining(
          "line 10: roles.ads-ops.channel: channel C0NOPE does not exist",
        ),
      });
      expect(await cli("approve", "7")).toMatchObject({
        code: 2,
        stderr: expect.stringContaining("usage: npm run routes"),
      });
      // Naming an admin's Slack ID no longer breaks glass; only the admins' token does.
      expect(
        await cli("rollback", "1", "--break-glass", "--as", "U0ADMIN", "--reason", "x"),
      ).toMatchObject({ code: 2, stderr: expect.stringContaining("'--as'") });
      expect(await cli("rollback", "1", "--break-glass", "--reason", "x")).toMatchObject({
        code: 1,
        stderr: expect.stringContaining("needs the admins' break-glass token"),
      });
      expect(
        await cliWith({ token: "a guess" }, "rollback", "1", "--break-glass", "--reason", "x"),
      ).toMatchObject({ code: 1, stderr: expect.stringContaining("not the one") });
      expect(
        await cliWith(
          { token: TOKEN, tokenSha256: "" },
          "rollback",
          "1",
          "--break-glass",
          "--reason",
          "x",
        ),
      ).toMatchObject({
        code: 1,
        stderr: expect.stringContaining("Break-glass from a shell is off"),
      });
      // Every refused attempt is in the audit, under the shell's own name.
      const denied = await h.bot.deps.db
        .select()
        .from(auditLog)
        .where(eq(auditLog.action, "routing.break_glass_denied"));
      expect(denied.filter((row) => row.actor === shellUser)).toHaveLength(3);
      expect((await versions(h)).map((v) => v.version)).not.toContain(8);
      const glass = await cliWith(
        { token: TOKEN },
        "rollback",
        "1",
        "--break-glass",
        "--reason",
        "Slack is down",
      );
      expect(glass.stdout).toContain("BREAK-GLASS: v8 (text of v1) is active now");
      await eventually(
        async () => h.bot.deps.routing.current().version === 8,
        5000,
        "the bot to switch",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect((await versions(h)).filter((v) => v.status === "active")).toHaveLength(1);
  });

  it("runs as `npm run routes`", { timeout: 90_000 }, async () => {
    const env = {
      ...process.env,
      SLACK_BOT_TOKEN: "xoxb-test-token",
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: h.fake.url,
      DATABASE_URL: h.databaseUrl,
      REDIS_URL: h.env.REDIS_URL,
      QUEUE_PREFIX: h.env.QUEUE_PREFIX,
      LOG_LEVEL: "",
    };
    const listed = await run("npm", ["run", "--silent", "routes", "--", "list"], { env });
    expect(listed.stdout).toContain("active: v8");
    expect(listed.stdout).toMatch(
      /v8 active\s+by cli:\S+ via cli .*\[rollback of v1, BREAK-GLASS\]: Slack is down/,
    );
  });
});
