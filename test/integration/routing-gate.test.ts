import { describe, expect, it } from "vitest";
import { approveProposal, rejectProposal } from "../../src/routing/decisions.service.js";
import { proposeChange } from "../../src/routing/versions.service.js";
import { eventually } from "../support/harness.js";
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

const h = useHarness(() => startGovernedHarness());

const propose = async (text: string, author = "U0ALICE") => {
  const result = await proposeChange(h.bot.deps, {
    text,
    author,
    reason: "test change",
    via: "cli",
  });
  if (!result.ok) throw new Error(`not proposed: ${JSON.stringify(result)}`);
  return result.row;
};
const activeNow = () => h.bot.deps.routing.current().version;

describe("proposing from Slack", () => {
  it("opens a modal holding the active YAML", async () => {
    const { triggerId } = await inventory(h, "U0ALICE", "routes propose");
    const call = await h.fake.waitForCall("views.open", (c) => c.body.trigger_id === triggerId);
    const view = call.body.view as {
      callback_id: string;
      blocks: { element?: { initial_value?: string } }[];
    };
    expect(view.callback_id).toBe("routing.propose");
    expect(view.blocks[1]?.element?.initial_value).toBe(GOVERNED_TEXT);
  });

  it("shows every format problem in the modal with its line, and stores nothing", async () => {
    const broken = edit(
      edit(GOVERNED_TEXT, "claim: 30m", "claim: soon"),
      "role: ads-ops\n    severity",
      "role: ad-ops\n    severity",
    );
    const res = await h.slack.viewSubmission({
      userId: "U0ALICE",
      callbackId: "routing.propose",
      values: {
        yaml: { text: { type: "plain_text_input", value: broken } },
        reason: { text: { type: "plain_text_input", value: "typo" } },
      },
    });
    expect(res.json).toEqual({
      response_action: "errors",
      errors: {
        yaml: expect.stringMatching(
          /^line 13: roles\.ads-ops\.sla\.claim: invalid duration "soon".*\nline 16: routes\[0\]\.role: role "ad-ops" is not defined/s,
        ),
      },
    });
    expect(await versions(h)).toHaveLength(1);
  });

  it("asks for a reason", async () => {
    const res = await h.slack.viewSubmission({
      userId: "U0ALICE",
      callbackId: "routing.propose",
      values: {
        yaml: { text: { type: "plain_text_input", value: ADS_TO_FULFILLMENT } },
        reason: { text: { type: "plain_text_input", value: "  " } },
      },
    });
    expect(res.json).toMatchObject({
      response_action: "errors",
      errors: { reason: expect.any(String) },
    });
  });

  it("checks a good proposal, stores it, posts the review card, and changes no routing yet", async () => {
    const res = await h.slack.viewSubmission({
      id: "VPROPOSE1",
      userId: "U0ALICE",
      callbackId: "routing.propose",
      values: {
        yaml: { text: { type: "plain_text_input", value: ADS_TO_FULFILLMENT } },
        reason: { text: { type: "plain_text_input", value: "ads-ops is on holiday" } },
      },
    });
    expect(res.json).toMatchObject({ response_action: "update" });
    const update = await h.fake.waitForCall("views.update", (c) => c.body.view_id === "VPROPOSE1");
    expect(JSON.stringify(update.body.view)).toContain("Proposed v2");
    const row = await version(h, 2);
    expect(row).toMatchObject({
      status: "proposed",
      author: "U0ALICE",
      source: "slack",
      baseVersion: 1,
      reason: "ads-ops is on holiday",
    });
    const card = await eventually(() => approvalCard(h, 2));
    expect(card).toContain("role ads-ops → fulfillment-ops");
    expect(card).toContain("routing.approve");
    expect(activeNow()).toBe(1);
    const actions = (await routingAudit(h)).map((a) => a.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        "routing.bootstrapped",
        "routing.validated",
        "routing.proposed",
        "routing.card_posted",
      ]),
    );
  });
});

describe("four eyes", () => {
  it("refuses the proposer, a member and a manager of an unaffected role, and says who may", async () => {
    const own = await clickDecision(h, "U0ALICE", 2, "approve");
    expect((await own.answer()).text).toContain("someone else must approve it (four eyes)");
    const member = await clickDecision(h, "U0CAROL", 2, "approve");
    expect((await member.answer()).text).toBe(
      "Only an admin or a manager of ads-ops, fulfillment-ops may approve v2. Nothing was changed.",
    );
    const onlyAds = await propose(
      edit(GOVERNED_TEXT, "members: [U0CAROL]", "members: [U0CAROL, U0DAVE]"),
      "U0BOB",
    );
    const outsider = await clickDecision(h, "U0MGR", onlyAds.version, "approve");
    expect((await outsider.answer()).text).toContain(
      `Only an admin or a manager of ads-ops may approve v${onlyAds.version}`,
    );
    expect((await version(h, 2)).status).toBe("proposed");
    const denials = (await routingAudit(h)).filter((a) => a.action === "routing.approval_denied");
    expect(denials.map((a) => a.actor)).toEqual(["U0ALICE", "U0CAROL", "U0MGR"]);
  });

  it("activates on a manager's approval, everywhere in this process, and closes proposals reviewed against the old version", async () => {
    const click = await clickDecision(h, "U0MGR2", 2, "approve");
    expect((await click.answer()).text).toBe(":white_check_mark: v2 is active.");
    expect(activeNow()).toBe(2);
    expect((await version(h, 1)).status).toBe("superseded");
    expect(await version(h, 2)).toMatchObject({ status: "active", decidedBy: "U0MGR2" });
    const outdated = await version(h, 3);
    expect(outdated).toMatchObject({ status: "rejected", decidedBy: "system" });
    expect(outdated.decisionNote).toContain("outdated");
    const card = await approvalCard(h, 2);
    expect(card).toContain("Approved and active");
    expect(card).not.toContain("routing.approve");
    expect(await approvalCard(h, 3)).toContain("Rejected");
    const thread = h.fake.threadReplies(APPROVALS, (await version(h, 2)).approvalTs as string);
    expect(thread.map((m) => m.text)).toEqual(
      ["<@U0MGR2> approved... placeholder"].map(() =>
        expect.stringContaining("Approved by <@U0MGR2>"),
      ),
    );
    const actions = (await routingAudit(h)).map(
      (a) => `${a.action}:${(a.details as { version?: number }).version}`,
    );
    expect(actions).toEqual(
      expect.arrayContaining([
        "routing.approved:2",
        "routing.activated:2",
        "routing.superseded:1",
        "routing.outdated:3",
      ]),
    );
  });

  it("tells a late approver who already decided", async () => {
    const late = await clickDecision(h, "U0MGR", 2, "approve");
    expect((await late.answer()).text).toBe("v2 is already active (approved by <@U0MGR2>).");
  });
});

describe("rejecting", () => {
  it("asks for a reason in a modal and refuses people who may not reject", async () => {
    const row = await propose(
      edit(ADS_TO_FULFILLMENT, "members: [U0CAROL]", "members: [U0CAROL, U0EVE]"),
      "U0BOB",
    );
    const click = await clickDecision(h, "U0MGR2", row.version, "reject");
    const call = await h.fake.waitForCall(
      "views.open",
      (c) => c.body.trigger_id === click.triggerId,
    );
    const meta = (call.body.view as { private_metadata: string }).private_metadata;
    const submit = (userId: string, reason: string) =>
      h.slack.viewSubmission({
        userId,
        callbackId: "routing.reject",
        privateMetadata: meta,
        values: { reason: { text: { type: "plain_text_input", value: reason } } },
      });
    expect((await submit("U0MGR2", " ")).json).toEqual({
      response_action: "errors",
      errors: { reason: "A rejection needs a reason." },
    });
    expect((await submit("U0CAROL", "nope")).json).toEqual({
      response_action: "errors",
      errors: { reason: expect.stringContaining("Only an admin or a manager of ads-ops") },
    });
    expect((await version(h, row.version)).status).toBe("proposed");
    const ok = await submit("U0MGR2", "Eve is not on the ads team");
    expect(ok.status).toBe(200);
    await eventually(async () => (await version(h, row.version)).status === "rejected");
    expect(await version(h, row.version)).toMatchObject({
      decidedBy: "U0MGR2",
      decisionNote: "Eve is not on the ads team",
    });
    expect(
      await eventually(
        async () =>
          (await approvalCard(h, row.version)).includes("Rejected") && approvalCard(h, row.version),
      ),
    ).toContain("Eve is not on the ads team");
    const audit = (await routingAudit(h)).filter(
      (a) => a.action === "routing.rejected" || a.action === "routing.rejection_denied",
    );
    expect(audit.map((a) => `${a.action}:${a.actor}`)).toEqual([
      "routing.rejection_denied:U0CAROL",
      "routing.rejected:U0MGR2",
    ]);
    expect(activeNow()).toBe(2);
  });

  it("lets the proposer withdraw, recorded as withdrawn", async () => {
    const row = await propose(
      edit(ADS_TO_FULFILLMENT, "managers: [U0MGR2]", "managers: [U0MGR2, U0EVE]"),
      "U0BOB",
    );
    const result = await rejectProposal(h.bot.deps, {
      version: row.version,
      actor: "U0BOB",
      reason: "wrong person",
      via: "slack",
    });
    expect(result.ok).toBe(true);
    // The card's own audit row may come after (the outbox posts it): look at the decision.
    const decisions = (await routingAudit(h)).filter(
      (a) =>
        (a.details as { version?: number }).version === row.version &&
        ["routing.withdrawn", "routing.rejected"].includes(a.action),
    );
    expect(decisions).toEqual([
      expect.objectContaining({ action: "routing.withdrawn", actor: "U0BOB" }),
    ]);
  });
});

describe("concurrent approvals", () => {
  it("activates one version when two approvers click at once", async () => {
    const row = await propose(edit(ADS_TO_FULFILLMENT, "claim: 30m", "claim: 20m"), "U0ALICE");
    const results = await Promise.all(
      ["U0MGR2", "U0ADMIN"].map((actor) =>
        approveProposal(h.bot.deps, { version: row.version, actor, via: "slack" }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.message)).toEqual([
      expect.stringContaining(`v${row.version} is already active`),
    ]);
    const all = await versions(h);
    expect(all.filter((v) => v.status === "active").map((v) => v.version)).toEqual([row.version]);
    const activations = (await routingAudit(h)).filter(
      (a) =>
        a.action === "routing.activated" &&
        (a.details as { version: number }).version === row.version,
    );
    expect(activations).toHaveLength(1);
  });

  it("activates one of two competing proposals; the other is outdated, not silently applied later", async () => {
    const base = (await versions(h)).find((v) => v.status === "active")?.text as string;
    const a = await propose(edit(base, "claim: 20m", "claim: 10m"), "U0ALICE");
    const b = await propose(edit(base, "claim: 20m", "claim: 40m"), "U0BOB");
    const results = await Promise.all([
      approveProposal(h.bot.deps, { version: a.version, actor: "U0MGR2", via: "slack" }),
      approveProposal(h.bot.deps, { version: b.version, actor: "U0ADMIN", via: "slack" }),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const winner = results[0]?.ok ? a : b;
    const loser = winner === a ? b : a;
    const all = await versions(h);
    expect(all.filter((v) => v.status === "active").map((v) => v.version)).toEqual([
      winner.version,
    ]);
    expect(all.find((v) => v.version === loser.version)?.status).toBe("rejected");
    expect(activeNow()).toBe(winner.version);
  });
});

describe("a change of retryQueues", () => {
  it("needs an admin: a manager whose role the same proposal touches may not approve it", async () => {
    const base = (await versions(h)).find((v) => v.status === "active")?.text as string;
    // Touching the role's SLA makes its manager an approver; the retry queue rides along.
    const touched = base.replace(
      /(ads-ops:[\s\S]*?claim: )(\d+)m/,
      (_all, head: string, minutes: string) => `${head}${Number(minutes) + 1}m`,
    );
    expect(touched).not.toBe(base);
    const text = edit(
      touched,
      "retryQueues: [storefront-sync,",
      "retryQueues: [payouts-*, storefront-sync,",
    );
    const row = await propose(text, "U0ALICE");
    const before = activeNow();
    const byManager = await approveProposal(h.bot.deps, {
      version: row.version,
      actor: "U0MGR2",
      via: "slack",
    });
    expect(byManager).toMatchObject({ ok: false });
    expect(JSON.stringify(byManager)).toContain("Only an admin may approve");
    expect(activeNow()).toBe(before);
    expect(h.bot.deps.routing.current().config.retryQueues).not.toContain("payouts-*");

    const byAdmin = await approveProposal(h.bot.deps, {
      version: row.version,
      actor: "U0ADMIN",
      via: "slack",
    });
    expect(byAdmin.ok).toBe(true);
    await eventually(async () => activeNow() === row.version);
    expect(h.bot.deps.routing.current().config.retryQueues).toContain("payouts-*");
    // Each human step of the gate records what it is expected to bring about.
    const audit = await routingAudit(h);
    const about = (action: string) =>
      audit.find(
        (a) => a.action === action && (a.details as { version: number }).version === row.version,
      );
    expect(about("routing.proposed")?.expectedOutcome).toContain("approved by someone other");
    expect(about("routing.approved")?.expectedOutcome).toContain(
      `v${row.version} becomes the active routing`,
    );
  });
});
