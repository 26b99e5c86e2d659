import { describe, expect, it } from "vitest";
import { parseRoutingText } from "../../../src/routing/load.js";
import {
  emptyTally,
  finishPreview,
  previewRoles,
  tallyReroutes,
} from "../../../src/routing/preview.js";
import {
  adminOnlyReason,
  mayApprove,
  mayBreakGlass,
  mayReject,
  planReassignments,
} from "../../../src/routing/review-policy.js";

const ACTIVE = parseRoutingText(`admins: [U0ADMIN]
roles:
  ops: { channel: C0OPS, members: [U0ALICE], managers: [U0MGR] }
  ads: { channel: C0ADS, members: [U0CAROL], managers: [U0MGR2] }
  shop: { channel: C0SHOP, members: [U0EVE], managers: [U0MGR3] }
routes:
  - match: { targetSystem: "ads.*" }
    role: ads
  - match: { targetSystem: "storefront.*" }
    role: shop
  - role: ops
`);

const judged = (actor: string, affectedRoles: string[], author = "U0ALICE") => ({
  actor,
  author,
  version: 7,
  active: ACTIVE,
  affectedRoles,
});

describe("who may approve", () => {
  it("lets a manager of an affected role or an admin approve", () => {
    expect(mayApprove(judged("U0MGR2", ["ads"]))).toEqual({ ok: true, as: "manager" });
    expect(mayApprove(judged("U0ADMIN", []))).toEqual({ ok: true, as: "admin" });
  });

  it("refuses the proposer, even an admin (four eyes)", () => {
    const verdict = mayApprove(judged("U0ADMIN", ["ads"], "U0ADMIN"));
    expect(verdict).toEqual({ ok: false, reason: expect.stringContaining("four eyes") });
  });

  it("refuses a manager of an unaffected role, and a plain member of an affected one", () => {
    expect(mayApprove(judged("U0MGR3", ["ads"]))).toEqual({
      ok: false,
      reason: "Only an admin or a manager of ads may approve v7.",
    });
    expect(mayApprove(judged("U0CAROL", ["ads"])).ok).toBe(false);
  });

  it("needs an admin when no existing role is affected (a new role, admins, clients)", () => {
    expect(mayApprove(judged("U0MGR", ["brand-new"]))).toEqual({
      ok: false,
      reason: expect.stringContaining("an admin (this change affects no existing role's managers)"),
    });
  });

  it("lets the proposer withdraw, approvers reject, and nobody else", () => {
    expect(mayReject(judged("U0ALICE", ["ads"]))).toEqual({ ok: true, as: "proposer" });
    expect(mayReject(judged("U0MGR2", ["ads"]))).toEqual({ ok: true, as: "manager" });
    expect(mayReject(judged("U0BOB", ["ads"])).ok).toBe(false);
  });

  it("lets only admins break glass", () => {
    expect(mayBreakGlass({ actor: "U0ADMIN", active: ACTIVE, activeVersion: 3 }).ok).toBe(true);
    expect(mayBreakGlass({ actor: "U0MGR", active: ACTIVE, activeVersion: 3 })).toEqual({
      ok: false,
      reason: expect.stringContaining("Only admins listed in the active routing (v3"),
    });
  });
});

describe("open exceptions of removed roles", () => {
  const withoutShop = parseRoutingText(`roles:
  ops: { channel: C0OPS, members: [U0ALICE] }
  ads: { channel: C0ADS, members: [U0CAROL] }
routes:
  - role: ops
reassign:
  shop: ads
`);
  const withoutShopAndUnmapped = parseRoutingText(`roles:
  ops: { channel: C0OPS, members: [U0ALICE] }
routes:
  - role: ops
`);

  it("moves them where the proposal says", () => {
    const plan = planReassignments(
      [
        { role: "ops", open: 2 },
        { role: "shop", open: 3 },
      ],
      withoutShop,
      { fallbackToDefault: false },
    );
    expect(plan).toEqual({
      moves: [{ from: "shop", to: "ads", open: 3, how: "reassign" }],
      blocked: [],
    });
  });

  it("blocks a proposal that leaves them without a role; a rollback falls back to its default", () => {
    const open = [
      { role: "ads", open: 1 },
      { role: "shop", open: 0 },
    ];
    expect(planReassignments(open, withoutShopAndUnmapped, { fallbackToDefault: false })).toEqual({
      moves: [],
      blocked: [{ role: "ads", open: 1 }],
    });
    expect(
      planReassignments(open, withoutShopAndUnmapped, { fallbackToDefault: true }).moves,
    ).toEqual([{ from: "ads", to: "ops", open: 1, how: "default" }]);
  });
});

describe("30-day preview", () => {
  const event = (targetSystem: string, failureMode = "network") => ({
    client: "acme",
    sku: "S1",
    sourceSystem: "erp.netsuite",
    targetSystem,
    operation: "stock_update",
    failureMode,
  });

  it("counts events that would go to another role, by old -> new, across batches", () => {
    const proposed = parseRoutingText(`roles:
  ops: { channel: C0OPS, members: [U0ALICE] }
  ads: { channel: C0ADS, members: [U0CAROL] }
  shop: { channel: C0SHOP, members: [U0EVE] }
routes:
  - match: { targetSystem: "ads.*", failureMode: throttled }
    role: ops
  - match: { targetSystem: "ads.*" }
    role: ads
  - match: { targetSystem: "erp.*" }
    role: shop
  - role: ops
`);
    const tally = emptyTally();
    tallyReroutes(tally, ACTIVE, proposed, [event("ads.google", "throttled"), event("ads.meta")]);
    tallyReroutes(tally, ACTIVE, proposed, [
      event("ads.google", "throttled"),
      event("erp.sap"),
      event("storefront.shopify"),
    ]);
    const preview = finishPreview(tally);
    expect(preview).toEqual({
      days: 30,
      total: 5,
      moved: 4,
      pairs: [
        { from: "ads", to: "ops", count: 2 },
        { from: "ops", to: "shop", count: 1 },
        { from: "shop", to: "ops", count: 1 },
      ],
    });
    expect(previewRoles(preview)).toEqual(["ads", "ops", "shop"]);
  });
});

describe("a change of retryQueues needs an admin", () => {
  const withQueues = (queues: string) =>
    parseRoutingText(`admins: [U0ADMIN]
retryQueues: [${queues}]
roles:
  ops: { channel: C0OPS, members: [U0ALICE], managers: [U0MGR] }
routes:
  - role: ops
`);

  it("names the reason when the allowed queues change, in either direction", () => {
    expect(adminOnlyReason(withQueues("a"), withQueues("a, b"))).toContain("retryQueues");
    expect(adminOnlyReason(withQueues("a, b"), withQueues("a"))).toContain("retryQueues");
    expect(adminOnlyReason(withQueues("a, b"), withQueues("b, a"))).toBeUndefined();
  });

  it("refuses a manager of the affected role, and lets an admin approve", () => {
    const adminOnly = adminOnlyReason(withQueues("a"), withQueues("a, syncdesk-like"));
    expect(mayApprove({ ...judged("U0MGR", ["ops"]), adminOnly })).toEqual({
      ok: false,
      reason: expect.stringContaining("Only an admin may approve v7: it changes `retryQueues`"),
    });
    expect(mayApprove({ ...judged("U0ADMIN", ["ops"]), adminOnly })).toEqual({
      ok: true,
      as: "admin",
    });
  });
});
