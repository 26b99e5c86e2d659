import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatProposalIssue } from "../../src/routing/proposal-check.js";
import { proposeChange } from "../../src/routing/versions.service.js";
import { eventually } from "../support/harness.js";
import {
  edit,
  GOVERNED_CHANNELS,
  GOVERNED_TEXT,
  routingAudit,
  startGovernedHarness,
  versions,
} from "../support/routing-helpers.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness(() =>
  startGovernedHarness({
    fake: {
      channels: [
        ...GOVERNED_CHANNELS,
        { id: "C0SECRET", name: "secret", is_private: true, is_member: false },
        { id: "C0OLD", name: "old", is_archived: true },
        { id: "C0PUBLIC", name: "public", is_member: false },
      ],
      users: [{ id: "U0GONE", name: "gone", deleted: true }],
      usergroups: { S0FULFILL: ["U0DAVE"], S0EMPTY: [] },
    },
  }),
);

const propose = (text: string) =>
  proposeChange(h.bot.deps, { text, author: "U0ALICE", reason: "check", via: "cli" });

async function refusal(text: string) {
  const result = await propose(text);
  if (result.ok || result.kind !== "invalid")
    throw new Error(`expected a refusal: ${JSON.stringify(result)}`);
  return {
    errors: result.errors.map(formatProposalIssue),
    warnings: result.warnings.map(formatProposalIssue),
  };
}

describe("checks that ask Slack", () => {
  it("refuses unknown, private and archived channels, deactivated people and unknown user groups, all at once, by line", async () => {
    const text = [
      "admins: [U0ADMIN, U0GONE]", // 1
      "roles:", // 2
      "  ops:", // 3
      "    channel: C0NOPE", // 4
      "    members: [U0ALICE]", // 5
      "  secret:", // 6
      "    channel: C0SECRET", // 7
      "    members: [U0BOB]", // 8
      "    usergroup: S0NOPE", // 9
      "  old:", // 10
      "    channel: C0OLD", // 11
      "    usergroup: S0EMPTY", // 12
      "  public:", // 13
      "    channel: C0PUBLIC", // 14
      "    members: [U0CAROL]", // 15
      "routes:", // 16
      "  - role: ops", // 17
    ].join("\n");
    const { errors, warnings } = await refusal(text);
    expect(errors).toEqual([
      "line 1: admins[1]: user U0GONE (gone) is deactivated",
      "line 4: roles.ops.channel: channel C0NOPE does not exist, or the bot cannot see it (invite the bot to private channels)",
      "line 7: roles.secret.channel: the bot is not in private channel #secret (C0SECRET): invite it first",
      "line 9: roles.secret.usergroup: user group S0NOPE does not exist",
      "line 11: roles.old.channel: channel #old (C0OLD) is archived",
      "line 12: roles.old.usergroup: user group S0EMPTY is empty and role old lists no members: nobody could claim its cards",
    ]);
    expect(warnings).toEqual([
      "line 14: roles.public.channel: the bot is not in #public (C0PUBLIC); it can post there only with the chat:write.public scope",
    ]);
    expect(await versions(h)).toHaveLength(1);
    const refused = (await routingAudit(h)).filter((a) => a.action === "routing.refused");
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      actor: "U0ALICE",
      details: expect.objectContaining({ errorCount: 6, via: "cli" }),
    });
  });

  it("refuses a person Slack does not know", async () => {
    h.fake.failNext("users.info", { error: "user_not_found" });
    const { errors } = await refusal(
      "roles:\n  ops:\n    channel: C0FULFILL\n    members: [U0GHOST]\nroutes:\n  - role: ops\n",
    );
    expect(errors).toEqual([
      "line 4: roles.ops.members[0]: user U0GHOST does not exist in this workspace",
    ]);
  });

  it("refuses when Slack cannot answer, rather than waving the proposal through", async () => {
    h.fake.failNext("conversations.info", { error: "fatal_error" });
    const { errors } = await refusal(
      "roles:\n  ops:\n    channel: C0FULFILL\n    members: [U0ALICE]\nroutes:\n  - role: ops\n",
    );
    expect(errors).toEqual([
      "line 3: roles.ops.channel: could not check channel C0FULFILL: fatal_error",
    ]);
  });

  it("on a plan without user groups, warns when listed members remain and refuses when nobody could claim", async () => {
    h.fake.setFreePlan(true);
    try {
      const warned = await propose(
        "roles:\n  ops:\n    channel: C0FULFILL\n    members: [U0ALICE]\n    usergroup: S0FULFILL\nroutes:\n  - role: ops\n",
      );
      expect(warned.ok).toBe(true);
      if (!warned.ok) return;
      expect(warned.review.warnings.map(formatProposalIssue)).toEqual([
        "line 5: roles.ops.usergroup: this workspace's plan has no user groups: S0FULFILL adds nobody; only the listed members count",
      ]);
      const { errors } = await refusal(
        "roles:\n  ops:\n    channel: C0FULFILL\n    members: [U0ALICE]\n  shop:\n    channel: C0SHOP\n    usergroup: S0FULFILL\nroutes:\n  - role: ops\n",
      );
      expect(errors).toEqual([
        "line 7: roles.shop.usergroup: this workspace's plan has no user groups, and role shop lists no members: nobody could claim its cards",
      ]);
    } finally {
      h.fake.setFreePlan(false);
    }
  });

  it("shows Slack's refusals in the propose modal", async () => {
    const res = await h.slack.viewSubmission({
      id: "VBADCHANNEL",
      userId: "U0ALICE",
      callbackId: "routing.propose",
      values: {
        yaml: {
          text: {
            type: "plain_text_input",
            value:
              "roles:\n  ops:\n    channel: C0NOPE\n    members: [U0ALICE]\nroutes:\n  - role: ops\n",
          },
        },
        reason: { text: { type: "plain_text_input", value: "new channel" } },
      },
    });
    expect(res.json).toMatchObject({ response_action: "update" });
    const update = await h.fake.waitForCall(
      "views.update",
      (c) => c.body.view_id === "VBADCHANNEL",
    );
    const shown = JSON.stringify(update.body.view);
    expect(shown).toContain("Not proposed");
    expect(shown).toContain("line 3: roles.ops.channel: channel C0NOPE does not exist");
  });

  it("tells the proposer when nothing would change, or the same text is already pending", async () => {
    const active = (await versions(h)).find((v) => v.status === "active");
    expect(await propose(active?.text as string)).toMatchObject({ ok: false, kind: "unchanged" });
    const pending = (await versions(h)).find((v) => v.status === "proposed");
    expect(await propose(pending?.text as string)).toEqual({
      ok: false,
      kind: "duplicate",
      message: `The same text is already proposed as v${pending?.version}.`,
    });
  });
});

describe("the routing file taken as the first version", () => {
  const line = GOVERNED_TEXT.split("\n").findIndex((l) => l.includes("channel: C0ADS")) + 1;
  let dir = "";
  const first = useHarness(() => {
    dir = mkdtempSync(join(tmpdir(), "syncdesk-v1-"));
    const file = join(dir, "routing.yml");
    writeFileSync(file, edit(GOVERNED_TEXT, "channel: C0ADS", "channel: C0NOPE"));
    return startGovernedHarness({ routingFile: file });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is checked against Slack after start-up, and what is wrong is audited by line", async () => {
    const checked = await eventually(async () =>
      (await routingAudit(first)).find((row) => row.action === "routing.slack_checked"),
    );
    expect(checked.note).toBe("routing v1 has 1 problem(s) in Slack");
    expect(checked.details).toMatchObject({
      version: 1,
      problems: [
        expect.stringMatching(new RegExp(`^line ${line}: .*channel C0NOPE does not exist`)),
      ],
    });
  });

  it("records a clean check when Slack knows every channel and person", async () => {
    const checked = await eventually(async () =>
      (await routingAudit(h)).find((row) => row.action === "routing.slack_checked"),
    );
    expect(checked.note).toBe("routing v1 checked against Slack: no problems");
  });
});
