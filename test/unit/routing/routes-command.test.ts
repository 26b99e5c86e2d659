import { describe, expect, it } from "vitest";
import { blockKitViolations } from "../../../dev/slack/block-kit-limits.js";
import { renderApprovalCard } from "../../../src/routing/approval-card.js";
import { diffRouting } from "../../../src/routing/diff.js";
import { parseRoutingText } from "../../../src/routing/load.js";
import type { ReviewSnapshot } from "../../../src/routing/review-policy.js";
import {
  answerTest,
  parseRoutesCommand,
  testEvent,
  tokenize,
} from "../../../src/routing/routes-command.js";
import { proposeView } from "../../../src/routing/routes-views.js";
import type { VersionRow } from "../../../src/routing/versions.repo.js";

describe("parseRoutesCommand", () => {
  it("reads every subcommand", () => {
    expect(parseRoutesCommand("")).toEqual({ ok: true, command: { kind: "status" } });
    expect(parseRoutesCommand(" propose ")).toEqual({ ok: true, command: { kind: "propose" } });
    expect(parseRoutesCommand("show v4")).toEqual({
      ok: true,
      command: { kind: "show", version: 4 },
    });
    expect(parseRoutesCommand("rollback 3 --break-glass db outage")).toEqual({
      ok: true,
      command: { kind: "rollback", version: 3, breakGlass: true, reason: "db outage" },
    });
    expect(parseRoutesCommand('test client="acme corp" targetSystem=ads.google')).toEqual({
      ok: true,
      command: { kind: "test", fields: { client: "acme corp", targetSystem: "ads.google" } },
    });
  });

  it("says what is wrong with bad input", () => {
    expect(parseRoutesCommand("show")).toEqual({
      ok: false,
      error: expect.stringContaining("Usage"),
    });
    expect(parseRoutesCommand("show x")).toEqual({ ok: false, error: "expected a version number" });
    expect(parseRoutesCommand("test colour=red")).toEqual({
      ok: false,
      error: expect.stringContaining("`colour` is not an event field"),
    });
    expect(parseRoutesCommand("test client=a client=b").ok).toBe(false);
    expect(parseRoutesCommand("test client").ok).toBe(false);
    expect(parseRoutesCommand("rollback").ok).toBe(false);
    expect(parseRoutesCommand("approve 3")).toEqual({
      ok: false,
      error: "I don't know `routes approve`.",
    });
  });

  it("keeps quoted words together", () => {
    expect(tokenize('a "b c" d="e f"')).toEqual(["a", "b c", "d=e f"]);
  });
});

describe("routes test", () => {
  it("names the rule, its line, role, channel, severity and SLA", () => {
    const config = parseRoutingText(`roles:
  ops: { channel: C0OPS, members: [U0A1], sla: { claim: 15m } }
  ads: { channel: C0ADS, members: [U0A2] }
routes:
  - match: { targetSystem: "ads.*", failureMode: throttled }
    role: ads
    severity: high
    sla: { claim: 5m }
  - role: ops
`);
    const event = testEvent({
      client: "acme",
      targetSystem: "ads.google",
      failureMode: "throttled",
    });
    expect(answerTest(config, event)).toMatchObject({
      rule: 1,
      line: 5,
      isDefault: false,
      role: "ads",
      channel: "C0ADS",
      severity: "high",
      sla: { claim: "5m", resolve: "2h", hours: "always" },
    });
    expect(answerTest(config, testEvent({ client: "acme" }))).toMatchObject({
      rule: 2,
      isDefault: true,
      role: "ops",
    });
  });
});

describe("approval card", () => {
  const before = parseRoutingText(
    "roles:\n  ops: { channel: C0OPS, members: [U0A1] }\nroutes:\n  - role: ops\n",
  );
  const row = (review: ReviewSnapshot, patch: Partial<VersionRow> = {}): VersionRow => ({
    version: 7,
    text: "roles: {}",
    contentHash: "h",
    status: "proposed",
    source: "slack",
    author: "U0ALICE",
    reason: "<!channel> move ads <@U0BOB>",
    rollbackOf: null,
    baseVersion: 6,
    review,
    breakGlass: false,
    decidedBy: null,
    decidedAt: null,
    decisionNote: null,
    activatedAt: null,
    approvalChannel: null,
    approvalTs: null,
    createdAt: new Date("2026-11-26T09:00:00Z"),
    ...patch,
  });

  it("stays inside Slack's limits with a huge review, escapes what people typed, and offers the buttons while pending", () => {
    const roles = Array.from(
      { length: 120 },
      (_, i) => `  r${i}: { channel: C0R${i}, members: [U0A${i}] }`,
    ).join("\n");
    const after = parseRoutingText(`roles:\n${roles}\nroutes:\n  - role: r0\n`);
    const review: ReviewSnapshot = {
      baseVersion: 6,
      diff: diffRouting(before, after),
      preview: {
        days: 30,
        total: 5000,
        moved: 900,
        pairs: Array.from({ length: 40 }, (_, i) => ({ from: "ops", to: `r${i}`, count: 40 - i })),
        ms: 12,
      },
      orphans: { moves: [], blocked: [{ role: "ops", open: 3 }] },
      warnings: Array.from({ length: 30 }, (_, i) => ({
        line: i,
        path: "routes",
        message: "<b>never</b>",
      })),
      affectedRoles: ["ops"],
    };
    const card = renderApprovalCard(row(review));
    expect(blockKitViolations(card, "message")).toEqual([]);
    const json = JSON.stringify(card.blocks);
    expect(json).not.toContain("<!channel>");
    expect(json).toContain("&lt;!channel&gt;");
    expect(json).toContain("Approval blocked");
    expect(json).toContain("routing.approve");
    const decided = renderApprovalCard(
      row(review, { status: "rejected", decidedBy: "U0MGR", decisionNote: "no" }),
    );
    expect(JSON.stringify(decided.blocks)).not.toContain("routing.approve");
    expect(JSON.stringify(decided.blocks)).toContain("Rejected");
  });

  it("prefills the propose modal only when the active text fits a Slack text box", () => {
    const short = proposeView(row({} as ReviewSnapshot, { text: "roles: {}" })) as {
      blocks: { element?: { initial_value?: string } }[];
    };
    expect(short.blocks[1]?.element?.initial_value).toBe("roles: {}");
    const long = proposeView(row({} as ReviewSnapshot, { text: "x".repeat(3001) })) as {
      blocks: { element?: { initial_value?: string } }[];
    };
    expect(long.blocks[1]?.element?.initial_value).toBeUndefined();
    expect(blockKitViolations(long as never, "modal")).toEqual([]);
  });
});
