/**
 * The Monday checklist against live data: every line passes on near misses (just inside each
 * window, or outside it), then each line turns to needs-attention on its own offender.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { ChecklistLine } from "../../src/inventory/checklist.js";
import { checklistLines } from "../../src/inventory/inventory.service.js";
import {
  daysAgo,
  fixedClock,
  INVENTORY_ROUTING,
  insertException,
  insertRejected,
  insertRoutingChange,
  minutesAgo,
} from "../support/inventory-history.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({
  roles: ["web"],
  routingFile: INVENTORY_ROUTING,
  start: { clock: fixedClock },
});

async function lines(): Promise<Record<ChecklistLine["key"], ChecklistLine>> {
  const all = await checklistLines(h.bot.deps);
  return Object.fromEntries(all.map((line) => [line.key, line])) as Record<
    ChecklistLine["key"],
    ChecklistLine
  >;
}
const statuses = async () =>
  Object.fromEntries(Object.entries(await lines()).map(([key, line]) => [key, line.status]));

const ALL_PASS = {
  clients: "pass",
  claims: "pass",
  freshness: "pass",
  sla: "pass",
  qa: "pass",
  rejections: "pass",
  routing: "pass",
  "root-causes": "pass",
};

describe("the Monday checklist", () => {
  it("passes every line on near misses", async () => {
    const db = h.bot.deps.db;
    // An undeclared client last seen 31 days ago.
    await insertException(db, {
      client: "zeta-old",
      openedAt: daysAgo(31),
      claimAfter: 1,
      resolveAfter: 2,
    });
    // Open 14 min of fulfillment's 15; claimed 119 min of its 120 to resolve.
    await insertException(db, { openedAt: minutesAgo(14) });
    await insertException(db, { client: "globex", openedAt: minutesAgo(119), claimAfter: 1 });
    // A rejection reviewed, and an unreviewed one older than 24 h.
    await insertRejected(db, { receivedAt: minutesAgo(60), reviewed: true });
    await insertRejected(db, { receivedAt: minutesAgo(24 * 60 + 1) });
    // An approved change this week, an unapproved one 8 days ago.
    await insertRoutingChange(db, { version: 90, activatedAt: daysAgo(2), decidedBy: "U0MGR" });
    await insertRoutingChange(db, { version: 91, activatedAt: daysAgo(8), decidedBy: null });
    // A manual hand-off without root cause 8 days ago, and one with a cause this week.
    await insertException(db, {
      openedAt: daysAgo(8),
      claimAfter: 1,
      resolveAfter: 5,
      rootCause: null,
    });
    await insertException(db, {
      openedAt: daysAgo(1),
      claimAfter: 1,
      resolveAfter: 5,
      rootCause: "other",
    });
    expect(await statuses()).toEqual(ALL_PASS);
    expect((await lines()).clients.detail).toBe("2 clients seen, all declared.");
  });

  it("clients: an undeclared client seen this month needs attention", async () => {
    await insertException(h.bot.deps.db, {
      client: "zeta",
      openedAt: daysAgo(29),
      claimAfter: 1,
      resolveAfter: 2,
    });
    const { clients } = await lines();
    expect(clients.status).toBe("attention");
    expect(clients.detail).toContain("Not declared: `zeta`.");
  });

  it("claims: an exception open past its claim window needs attention, linked", async () => {
    const id = await insertException(h.bot.deps.db, {
      role: "ads-ops",
      openedAt: minutesAgo(6), // the ads rule: claim within 5 min
      cardTs: "1700000099.000100",
    });
    const { claims } = await lines();
    expect(claims.status).toBe("attention");
    expect(claims.detail).toBe("1 exception waiting past the claim window (ads-ops 1).");
    expect(claims.links).toEqual([
      { label: `EX-${id}`, channel: "C0ADS", ts: "1700000099.000100" },
    ]);
  });

  it("sla: a role with an exception past its resolve deadline needs attention", async () => {
    // The ads exception above is 6 min into its 60: not yet. A claimed one 121 min old is.
    await insertException(h.bot.deps.db, { openedAt: minutesAgo(121), claimAfter: 1 });
    const { sla } = await lines();
    expect(sla.status).toBe("attention");
    expect(sla.detail).toBe("Past the resolve deadline: fulfillment-ops 1.");
  });

  it("rejections: an unreviewed rejection of the last 24 h needs attention, until reviewed", async () => {
    const id = await insertRejected(h.bot.deps.db, {
      receivedAt: minutesAgo(30),
      cardTs: "1700000100.000100",
    });
    let { rejections } = await lines();
    expect(rejections.status).toBe("attention");
    expect(rejections.links).toEqual([
      { label: `rejection #${id}`, channel: "C0FULFILL", ts: "1700000100.000100" },
    ]);
    await h.bot.deps.db.execute(
      sql`update rejected_events set reviewed_by = 'U0MGR', reviewed_at = now() where id = ${id}`,
    );
    ({ rejections } = await lines());
    expect(rejections.status).toBe("pass");
  });

  it("routing: a break-glass or undecided change this week needs attention", async () => {
    await insertRoutingChange(h.bot.deps.db, {
      version: 92,
      activatedAt: daysAgo(1),
      decidedBy: "U0MGR",
      breakGlass: true,
    });
    const { routing } = await lines();
    expect(routing.status).toBe("attention");
    expect(routing.detail).toContain("v92 went live by break-glass");
    expect(routing.detail).not.toContain("v91");
  });

  it("root causes: a manual hand-off this week without one needs attention", async () => {
    const id = await insertException(h.bot.deps.db, {
      openedAt: daysAgo(6),
      claimAfter: 1,
      resolveAfter: 5,
      rootCause: null,
      cardTs: "1700000101.000100",
    });
    const rootCauses = (await lines())["root-causes"];
    expect(rootCauses.status).toBe("attention");
    expect(rootCauses.detail).toBe("1 exception resolved by hand without a root cause.");
    expect(rootCauses.links).toEqual([
      { label: `EX-${id}`, channel: "C0FULFILL", ts: "1700000101.000100" },
    ]);
  });

  it("answers /inventory checklist with each line marked, and links to the cards", async () => {
    await h.slack.command({
      command: "/inventory",
      text: "checklist",
      userId: "U0MGR",
      channelId: "C0FULFILL",
      responseUrl: h.fake.responseUrl("checklist"),
    });
    const answer = (await h.fake.waitForResponse("checklist")) as {
      text: string;
      blocks: unknown[];
    };
    expect(answer.text).toBe("Monday checklist: 5 of 8 lines need attention.");
    const shown = JSON.stringify(answer.blocks);
    expect(shown).toContain(
      ":white_check_mark: *Rejected events of the last 24 h reviewed* — pass",
    );
    expect(shown).toContain(":warning: *No role past its SLA* — needs attention");
    expect(shown).toContain("https://fake.slack.test/archives/C0ADS/p1700000099000100");
    expect(h.fake.violations).toEqual([]);
  });
});
