import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureEventSchema } from "../../src/intake/failure-event.schema.js";
import { exceptions } from "../../src/platform/db/schema.js";
import { approveProposal } from "../../src/routing/decisions.service.js";
import { proposeChange } from "../../src/routing/versions.service.js";
import { eventually, failureEvent, type Harness } from "../support/harness.js";
import {
  ADS_TO_FULFILLMENT,
  approvalCard,
  clickDecision,
  edit,
  GOVERNED_TEXT,
  routingAudit,
  startGovernedHarness,
  version,
} from "../support/routing-helpers.js";
import { click, replyTo } from "../support/slack-actions.js";

let h: Harness;
beforeAll(async () => {
  h = await startGovernedHarness();
});
afterAll(async () => {
  await h?.close();
});

const DAY = 86_400_000;

/** A past exception as intake would have stored it, opened `daysAgo` days ago. */
async function history(targetSystem: string, failureMode: string, role: string, daysAgo: number) {
  const at = new Date(Date.now() - daysAgo * DAY);
  const event = failureEventSchema.parse(
    failureEvent({
      targetSystem,
      failureMode: failureMode as never,
      occurredAt: at.toISOString(),
    }),
  );
  await h.bot.deps.db.insert(exceptions).values({
    fingerprint: `history-${randomUUID()}`,
    client: event.client,
    sku: event.sku,
    sourceSystem: event.sourceSystem,
    targetSystem,
    operation: "stock_update",
    failureMode,
    state: "resolved",
    severity: "normal",
    role,
    ruleIndex: 0,
    routingVersion: 1,
    firstEvent: event,
    latestEvent: event,
    firstSeenAt: at,
    lastSeenAt: at,
    openedAt: at,
    channel: role === "ads-ops" ? "C0ADS" : "C0FULFILL",
  });
}

const propose = async (text: string, author = "U0ALICE") => {
  const result = await proposeChange(h.bot.deps, { text, author, reason: "test", via: "cli" });
  if (!result.ok) throw new Error(`not proposed: ${JSON.stringify(result)}`);
  return result;
};

describe("what changes: the 30-day preview", () => {
  it("re-routes the last 30 days of real exceptions under the proposal and counts old -> new", async () => {
    for (const days of [1, 3, 10, 29]) await history("ads.google", "throttled", "ads-ops", days);
    await history("ads.google", "throttled", "ads-ops", 40); // too old to count
    for (const days of [2, 5]) await history("ads.meta", "auth", "fulfillment-ops", days);
    for (const days of [1, 2, 3])
      await history("storefront.shopify", "partial_write", "fulfillment-ops", days);

    const { row, review } = await propose(ADS_TO_FULFILLMENT);
    expect(review.preview).toMatchObject({
      days: 30,
      total: 9,
      moved: 4,
      pairs: [{ from: "ads-ops", to: "fulfillment-ops", count: 4 }],
    });
    const card = await approvalCard(h, row.version);
    expect(card).toContain("4 of 9 exceptions of the last 30 days would route to another role");
    expect(card).toContain("ads-ops → fulfillment-ops: *4*");
  });
});

describe("cards routed under an older version", () => {
  it("keep working after a change: the exception keeps its version, people of the current role may act", async () => {
    await h.report(
      failureEvent({ sku: "SKU-OLD-CARD", targetSystem: "ads.google", failureMode: "network" }),
    );
    const [row] = await eventually(async () => {
      const rows = await h.exceptionsFor("SKU-OLD-CARD");
      return rows[0]?.cardTs ? rows : null;
    });
    expect(row).toMatchObject({ role: "ads-ops", channel: "C0ADS", routingVersion: 1 });
    const { row: change } = await propose(
      edit(GOVERNED_TEXT, "members: [U0CAROL]", "members: [U0CAROL, U0EVE]"),
    );
    const approved = await approveProposal(h.bot.deps, {
      version: change.version,
      actor: "U0MGR2",
      via: "slack",
    });
    expect(approved.ok).toBe(true);
    const claim = await click(h, "U0EVE", row!.id, "claim");
    expect(claim.status).toBe(200);
    await eventually(async () => (await h.exception(row!.id)).claimedBy === "U0EVE");
    expect((await h.exception(row!.id)).routingVersion).toBe(1);
  });
});

describe("open exceptions of a removed role", () => {
  it("are listed on the card and block approval until the proposal gives them a role", async () => {
    const activeText = (await version(h, 3)).text;
    const without = edit(
      edit(
        activeText,
        "  ads-ops:\n    channel: C0ADS\n    members: [U0CAROL, U0EVE]\n    managers: [U0MGR2]\n    sla: { claim: 30m }\n",
        "",
      ),
      "    role: ads-ops\n    severity: high",
      "    role: fulfillment-ops\n    severity: high",
    );
    const { row, review } = await propose(without, "U0BOB");
    expect(review.orphans).toEqual({ moves: [], blocked: [{ role: "ads-ops", open: 1 }] });
    expect(await approvalCard(h, row.version)).toContain("Approval blocked");
    const attempt = await clickDecision(h, "U0MGR2", row.version, "approve");
    expect((await attempt.answer()).text).toContain(
      "removes roles that still own open exceptions: ads-ops (1 open)",
    );
    expect((await version(h, row.version)).status).toBe("proposed");
    expect((await routingAudit(h)).at(-1)).toMatchObject({
      action: "routing.approval_blocked",
      actor: "U0MGR2",
    });

    // The new role answers faster than ads-ops did (which had the default 2h to resolve).
    const mapped = `${edit(without, "    managers: [U0MGR]\n", "    managers: [U0MGR]\n    sla: { claim: 10m, resolve: 40m }\n")}reassign:\n  ads-ops: fulfillment-ops\n`;
    const next = await propose(mapped, "U0BOB");
    expect(next.review.orphans).toEqual({
      moves: [{ from: "ads-ops", to: "fulfillment-ops", open: 1, how: "reassign" }],
      blocked: [],
    });
    const [open] = await h.exceptionsFor("SKU-OLD-CARD");
    const oldCardTs = open!.cardTs;
    const approve = await clickDecision(h, "U0MGR2", next.row.version, "approve");
    expect((await approve.answer()).text).toBe(
      `:white_check_mark: v${next.row.version} is active. 1 open exception(s) moved to their new roles.`,
    );
    const moved = await eventually(async () => {
      const current = await h.exception(open!.id);
      return current.cardTs ? current : null;
    });
    expect(moved).toMatchObject({
      role: "fulfillment-ops",
      channel: "C0FULFILL",
      routingVersion: 1,
      claimedBy: "U0EVE",
    });
    // Its SLA follows the new role: the holder's reminder at 75% of 40m, not of 2h.
    await eventually(
      async () => {
        const { nextDeadlineAt, openedAt } = await h.exception(open!.id);
        return nextDeadlineAt?.getTime() === openedAt.getTime() + 30 * 60_000;
      },
      5000,
      "the new role's reminder deadline",
    );
    const oldCard = h.fake.messages("C0ADS").find((m) => m.ts === oldCardTs);
    expect(oldCard?.text).toContain(
      `moved to *fulfillment-ops* (<#C0FULFILL>): role ads-ops was removed by routing v${next.row.version}`,
    );
    const audit = await h.audit(open!.id);
    expect(audit.at(-2)).toMatchObject({
      action: "rerouted",
      source: "routing",
      actor: "U0MGR2",
      details: expect.objectContaining({
        fromRole: "ads-ops",
        toRole: "fulfillment-ops",
        version: next.row.version,
      }),
    });
    // The new owners can act on the new card; the old role is gone.
    const release = await click(h, "U0MGR", open!.id, "unclaim");
    expect(release.status).toBe(200);
    await eventually(async () => (await h.exception(open!.id)).claimedBy === null);
    const outsider = await click(h, "U0CAROL", open!.id, "claim");
    expect(await replyTo(h, outsider)).toContain("Only members of *fulfillment-ops*");
  });
});
