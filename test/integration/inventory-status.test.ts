/**
 * `/inventory status` figures against a known history in Postgres: every number below was worked
 * out by hand from the rows inserted in beforeAll (see the comments next to each row).
 */
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { DAY_MS, HOUR_MS } from "../../src/inventory/command-args.js";
import {
  refreshFigureSnapshots,
  SNAPSHOT_MIN_OPENED,
} from "../../src/inventory/figure-snapshots.js";
import { statusReport, statusTimeZone } from "../../src/inventory/inventory.service.js";
import { openedPerDay, windowFigures } from "../../src/inventory/status.repo.js";
import { eventually } from "../support/harness.js";
import {
  daysAgo,
  fixedClock,
  INVENTORY_ROUTING,
  insertException,
  insertRejected,
  minutesAgo,
  NOW,
} from "../support/inventory-history.js";
import { useHarness } from "../support/use-harness.js";

const MIN = 60_000;

/** The active routing with ads-ops in `zone`. */
const withZone = (zone: string) => {
  const config = h.bot.deps.routing.current().config;
  const ads = config.roles["ads-ops"];
  if (!ads) throw new Error("no ads-ops role");
  return {
    ...config,
    roles: { ...config.roles, "ads-ops": { ...ads, sla: { ...ads.sla, timezone: zone } } },
  };
};
const ids: Record<string, number> = {};

// Web only: no SLA sweeper may touch the history while it is measured.
const h = useHarness({
  roles: ["web"],
  routingFile: INVENTORY_ROUTING,
  start: { clock: fixedClock },
});
beforeAll(async () => {
  const db = h.bot.deps.db;
  const add = async (name: string, spec: Parameters<typeof insertException>[1]) => {
    ids[name] = await insertException(db, spec);
  };
  // --- opened in the last 24 h (all on 2026-11-23 UTC) ---
  await add("A1", {
    openedAt: minutesAgo(60),
    claimAfter: 2,
    resolveAfter: 10,
    resolution: "retry",
    sku: "S1",
    occurrences: 3,
  });
  await add("A2", {
    openedAt: minutesAgo(120),
    claimAfter: 4,
    resolveAfter: 30,
    resolution: "manual",
    sku: "S2",
  });
  await add("A3", {
    role: "ads-ops",
    openedAt: minutesAgo(180),
    claimAfter: 6,
    resolveAfter: 90,
    resolution: "manual",
    breached: true,
    sku: "S1",
    occurrences: 2,
  });
  await add("A4", {
    role: "ads-ops",
    client: "globex",
    targetSystem: "ads.meta-catalog",
    vertical: "beauty",
    openedAt: minutesAgo(300),
    claimAfter: 8,
    breached: true,
    sku: "S3",
    occurrences: 4,
  });
  await add("A5", { client: "globex", openedAt: minutesAgo(30), sku: "S4" });
  // --- opened 1 to 7 days ago ---
  await add("B1", {
    openedAt: daysAgo(2),
    claimAfter: 10,
    resolveAfter: 20,
    resolution: "recovered",
  });
  await add("B2", { client: "globex", openedAt: daysAgo(3), resolveAfter: 5, resolution: "retry" });
  await add("B3", {
    role: "ads-ops",
    openedAt: daysAgo(6),
    claimAfter: 20,
    resolveAfter: 200,
    resolution: "manual",
    breached: true,
  });
  // Exactly 24 h old: outside the 24 h window (it is (now - 24h, now]), inside 7 days.
  await add("E1", {
    client: "globex",
    targetSystem: "crm.hubspot",
    openedAt: minutesAgo(24 * 60),
    resolveAfter: 5,
    resolution: "retry",
  });
  // --- older than 7 days: only in live counts when unresolved ---
  await add("C1", { openedAt: daysAgo(8), claimAfter: 100, resolveAfter: 100 });
  await add("L1", {
    openedAt: daysAgo(10),
    claimAfter: 1,
    claimedBy: "U0BOB",
    state: "retrying",
    breached: true,
  });
  await add("L2", { openedAt: daysAgo(9), sku: "OLD" });
  await insertRejected(db, { receivedAt: minutesAgo(120) });
  await insertRejected(db, { receivedAt: daysAgo(3), reviewed: true });
  await insertRejected(db, { receivedAt: daysAgo(10) });
});

const report = (args: { client?: string; role?: string; vertical?: string; windowMs: number }) =>
  statusReport(h.bot.deps, { windowLabel: "test", ...args });

describe("window figures", () => {
  it("last 24 h of everything: A1-A5", async () => {
    const { figures, rejected } = await report({ windowMs: 24 * HOUR_MS });
    expect(figures).toMatchObject({
      opened: 5,
      breached: 2, // A3, A4: 40%
      resolved: 3,
      byRetry: 1,
      byRecovery: 0,
      byHand: 2,
    });
    // claims 2, 4, 6, 8 min: median (4+6)/2 = 5; P95 rank 2.85 -> 6 + 0.85 * 2 = 7.7
    expect(figures.toClaim.count).toBe(4);
    expect(figures.toClaim.medianMs).toBeCloseTo(5 * MIN, 3);
    expect(figures.toClaim.p95Ms).toBeCloseTo(7.7 * MIN, 3);
    // resolves 10, 30, 90 min: median 30; P95 rank 1.9 -> 30 + 0.9 * 60 = 84
    expect(figures.toResolve.medianMs).toBeCloseTo(30 * MIN, 3);
    expect(figures.toResolve.p95Ms).toBeCloseTo(84 * MIN, 3);
    expect(figures.perDay).toEqual([{ day: "2026-11-23", opened: 5 }]);
    // failures: shopify 3 (A1) + 1 (A2) + 1 (A5); meta 4 (A4); google 2 (A3)
    expect(figures.topTargets).toEqual([
      { name: "storefront.shopify", failures: 5, exceptions: 3 },
      { name: "ads.meta-catalog", failures: 4, exceptions: 1 },
      { name: "ads.google-merchant", failures: 2, exceptions: 1 },
    ]);
    expect(figures.topSkus).toEqual([
      { name: "acme · S1", failures: 5, exceptions: 2 },
      { name: "globex · S3", failures: 4, exceptions: 1 },
      { name: "acme · S2", failures: 1, exceptions: 1 },
      { name: "globex · S4", failures: 1, exceptions: 1 },
    ]);
    expect(rejected).toEqual({ total: 1, unreviewed: 1 });
  });

  it("last 7 days: A1-A5, B1-B3 and E1 (24 h old to the minute)", async () => {
    const { figures, rejected } = await report({ windowMs: 7 * DAY_MS });
    expect(figures).toMatchObject({ opened: 9, breached: 3, byRetry: 3, byRecovery: 1, byHand: 3 });
    // claims 2, 4, 6, 8, 10, 20: median 7; P95 rank 4.75 -> 10 + 0.75 * 10 = 17.5
    expect(figures.toClaim.medianMs).toBeCloseTo(7 * MIN, 3);
    expect(figures.toClaim.p95Ms).toBeCloseTo(17.5 * MIN, 3);
    // resolves 5, 5, 10, 20, 30, 90, 200: median 20; P95 rank 5.7 -> 90 + 0.7 * 110 = 167
    expect(figures.toResolve.count).toBe(7);
    expect(figures.toResolve.medianMs).toBeCloseTo(20 * MIN, 3);
    expect(figures.toResolve.p95Ms).toBeCloseTo(167 * MIN, 3);
    expect(figures.perDay).toEqual([
      { day: "2026-11-17", opened: 1 },
      { day: "2026-11-20", opened: 1 },
      { day: "2026-11-21", opened: 1 },
      { day: "2026-11-22", opened: 1 },
      { day: "2026-11-23", opened: 5 },
    ]);
    expect(rejected).toEqual({ total: 2, unreviewed: 1 });
  });

  it("filters by client, by role, and by both", async () => {
    const acme = await report({ client: "acme", windowMs: 24 * HOUR_MS });
    // A1, A2, A3: breached 1 of 3; claims 2, 4, 6 -> median 4, P95 4 + 0.9 * 2 = 5.8
    expect(acme.figures).toMatchObject({ opened: 3, breached: 1 });
    expect(acme.figures.toClaim.medianMs).toBeCloseTo(4 * MIN, 3);
    expect(acme.figures.toClaim.p95Ms).toBeCloseTo(5.8 * MIN, 3);

    const ads = await report({ role: "ads-ops", windowMs: 24 * HOUR_MS });
    // A3, A4: both breached; claims 6, 8 -> median 7, P95 6 + 0.95 * 2 = 7.9; resolve 90 only
    expect(ads.figures).toMatchObject({ opened: 2, breached: 2, byHand: 1 });
    expect(ads.figures.toClaim.p95Ms).toBeCloseTo(7.9 * MIN, 3);
    expect(ads.figures.toResolve).toEqual({ count: 1, medianMs: 90 * MIN, p95Ms: 90 * MIN });

    const both = await report({ client: "acme", role: "ads-ops", windowMs: 7 * DAY_MS });
    // A3 and B3
    expect(both.figures).toMatchObject({ opened: 2, breached: 2, byHand: 2 });
    expect(both.live).toEqual([]);
  });

  it("filters by vertical: only exceptions whose events name it", async () => {
    const beauty = await report({ vertical: "beauty", windowMs: 24 * HOUR_MS });
    // A4 only: breached, claimed after 8, unresolved
    expect(beauty.figures).toMatchObject({ opened: 1, breached: 1 });
    expect(beauty.live.map((row) => row.role)).toEqual(["ads-ops"]);
    const none = await report({ vertical: "toys", windowMs: 24 * HOUR_MS });
    expect(none.figures).toMatchObject({ opened: 0 });
    expect(none.live).toEqual([]);
  });

  it("counts days in the role's time zone", async () => {
    // A1-A5 opened 04:00-08:30 UTC on the 23rd: 20:00-00:30 in Los Angeles, across midnight.
    const la = await openedPerDay(
      h.bot.deps.db,
      {},
      { now: NOW, ms: 24 * HOUR_MS, timeZone: "America/Los_Angeles" },
    );
    expect(la).toEqual([
      { day: "2026-11-22", opened: 3 },
      { day: "2026-11-23", opened: 2 },
    ]);
    expect(statusTimeZone(withZone("America/Los_Angeles"), "ads-ops")).toBe("America/Los_Angeles");
  });

  it("leaves the pipeline gates out of the top failing lists (Freshness shows them)", async () => {
    const db = h.bot.deps.db;
    const gate = await insertException(db, {
      client: "pipeco",
      sku: "pipeline:pipeco-feed",
      targetSystem: "storefront.*",
      failureMode: "stale",
      openedAt: minutesAgo(30),
    });
    const failure = await insertException(db, {
      client: "pipeco",
      sku: "P1",
      openedAt: minutesAgo(20),
    });
    try {
      const { figures } = await report({ client: "pipeco", windowMs: DAY_MS });
      expect(figures.opened).toBe(2);
      expect(figures.topSkus).toEqual([{ name: "pipeco · P1", failures: 1, exceptions: 1 }]);
      expect(figures.topTargets).toEqual([
        { name: "storefront.shopify", failures: 1, exceptions: 1 },
      ]);
    } finally {
      await db.execute(sql`delete from exceptions where id in (${gate}, ${failure})`);
    }
  });

  it("an empty window has counts of zero and no medians", async () => {
    const { figures } = await report({ client: "nobody", windowMs: DAY_MS });
    expect(figures).toMatchObject({ opened: 0, breached: 0, topTargets: [], perDay: [] });
    expect(figures.toClaim).toEqual({ count: 0, medianMs: null, p95Ms: null });
  });
});

describe("open now", () => {
  it("counts unresolved exceptions per role and finds each role's oldest unclaimed", async () => {
    const { live } = await report({ windowMs: DAY_MS });
    expect(live).toEqual([
      { role: "ads-ops", open: 0, claimed: 1, retrying: 0, breached: 1, oldestUnclaimed: null },
      {
        role: "fulfillment-ops",
        open: 2, // A5 and L2
        claimed: 0,
        retrying: 1, // L1
        breached: 1,
        oldestUnclaimed: expect.objectContaining({ id: ids.L2, sku: "OLD", openedAt: daysAgo(9) }),
      },
    ]);
  });

  it("narrows to a client", async () => {
    const { live } = await report({ client: "globex", windowMs: DAY_MS });
    expect(live.map((r) => [r.role, r.open, r.claimed, r.oldestUnclaimed?.id ?? null])).toEqual([
      ["ads-ops", 0, 1, null],
      ["fulfillment-ops", 1, 0, ids.A5],
    ]);
  });
});

describe("/inventory status in Slack", () => {
  it("acknowledges at once and answers through response_url with the figures", async () => {
    const responseUrl = h.fake.responseUrl("status-acme");
    const res = await h.slack.command({
      command: "/inventory",
      text: "status acme 24h",
      userId: "U0MGR",
      channelId: "C0FULFILL",
      responseUrl,
    });
    expect(res.status).toBe(200);
    const answer = (await h.fake.waitForResponse("status-acme")) as {
      response_type: string;
      text: string;
      blocks: unknown[];
    };
    expect(answer.response_type).toBe("ephemeral");
    const shown = JSON.stringify(answer.blocks);
    expect(shown).toContain("Inventory sync · acme · last 24h");
    expect(shown).toContain("median 4m · P95 5m (3)");
    expect(shown).toContain("33.3% (1 of 3)");
    expect(shown).toContain("by retry 33.3% · by recovery 0% · by hand 66.7%");
    // The oldest unclaimed acme exception (L2) links to its card.
    expect(shown).toContain(`archives/C0FULFILL/p1700000000`);
    expect(h.fake.violations).toEqual([]);
  });

  it("says what was wrong with bad arguments", async () => {
    await h.slack.command({
      command: "/inventory",
      text: "status acme 5m",
      userId: "U0MGR",
      channelId: "C0FULFILL",
      responseUrl: h.fake.responseUrl("bad-window"),
    });
    const answer = (await h.fake.waitForResponse("bad-window")) as { text: string };
    expect(answer.text).toContain("`5m` has an unknown unit: use hours, days or weeks");
    expect(answer.text).toContain("/inventory help");
  });

  it("answers help with usage examples", async () => {
    await h.slack.command({
      command: "/inventory",
      text: "help",
      userId: "U0ALICE",
      channelId: "C0FULFILL",
      responseUrl: h.fake.responseUrl("help"),
    });
    const answer = await eventually(async () => h.fake.responses("help")[0] as { text: string });
    expect(answer.text).toContain("/inventory status acme ads-ops 30d");
    expect(answer.text).toContain("/inventory mine");
    expect(answer.text).toContain("/inventory checklist");
  });
});

describe("figures computed ahead for every client and role (status.figures)", () => {
  const zone = () => statusTimeZone(h.bot.deps.routing.current().config, undefined);
  const computedAt = (minutesBefore: number) => new Date(NOW.getTime() - minutesBefore * MIN);
  const forget = () => h.bot.deps.db.execute(sql`delete from window_figure_snapshots`);
  /** The worker's run, then its figures as if the history were big enough to be read. */
  const bigRun = async (at: Date) => {
    await refreshFigureSnapshots(h.bot.deps.db, at, zone());
    await h.bot.deps.db.execute(sql`
      update window_figure_snapshots
      set figures = jsonb_set(figures, '{opened}', to_jsonb((figures->>'opened')::int + ${SNAPSHOT_MIN_OPENED}))`);
  };

  it("answers every client and role over 7 or 30 days from the worker's figures, and says as of when", async () => {
    const db = h.bot.deps.db;
    await bigRun(computedAt(2));
    // Opened after the worker's run: in a computation at the asking, not in the answer.
    const late = await insertException(db, { openedAt: minutesAgo(1), resolveAfter: 0.5 });
    try {
      for (const ms of [7 * DAY_MS, 30 * DAY_MS]) {
        const label = ms === 7 * DAY_MS ? "7d" : "30d";
        const report = await statusReport(h.bot.deps, { windowMs: ms, windowLabel: label });
        const asked = await windowFigures(db, {}, { now: NOW, ms, timeZone: zone() });
        expect(report.figuresAsOf).toEqual(computedAt(2));
        expect(report.figures.opened).toBe(asked.opened - 1 + SNAPSHOT_MIN_OPENED);
        expect(report.figures.resolved).toBe(asked.resolved - 1);
      }
      // The worker's figures stand for every client and role only, over its two windows.
      const acme = await statusReport(h.bot.deps, {
        client: "acme",
        windowMs: 7 * DAY_MS,
        windowLabel: "7d",
      });
      expect(acme.figuresAsOf).toBeUndefined();
      const day = await statusReport(h.bot.deps, { windowMs: DAY_MS, windowLabel: "24h" });
      expect(day.figuresAsOf).toBeUndefined();

      const res = await h.slack.command({
        command: "/inventory",
        text: "status 30d",
        userId: "U0MGR",
        channelId: "C0FULFILL",
        responseUrl: h.fake.responseUrl("status-ahead"),
      });
      expect(res.status).toBe(200);
      const answer = (await h.fake.waitForResponse("status-ahead")) as { blocks: unknown[] };
      expect(JSON.stringify(answer.blocks)).toContain("(recomputed every minute)");
    } finally {
      await forget();
      await db.execute(sql`delete from exceptions where id = ${late}`);
    }
  });

  it("computes a small window at the asking: a new desk's first exceptions are never missing", async () => {
    const db = h.bot.deps.db;
    await refreshFigureSnapshots(db, computedAt(2), zone());
    const late = await insertException(db, { openedAt: minutesAgo(1) });
    try {
      const report = await statusReport(h.bot.deps, { windowMs: 7 * DAY_MS, windowLabel: "7d" });
      const asked = await windowFigures(db, {}, { now: NOW, ms: 7 * DAY_MS, timeZone: zone() });
      expect(report.figuresAsOf).toBeUndefined();
      expect(report.figures.opened).toBe(asked.opened);
    } finally {
      await forget();
      await db.execute(sql`delete from exceptions where id = ${late}`);
    }
  });

  it("computes the figures at the asking when the worker's are over five minutes old", async () => {
    await bigRun(computedAt(6));
    try {
      const report = await statusReport(h.bot.deps, { windowMs: 7 * DAY_MS, windowLabel: "7d" });
      expect(report.figuresAsOf).toBeUndefined();
    } finally {
      await forget();
    }
  });

  it("keeps the newer figures when an older run finishes last", async () => {
    await bigRun(computedAt(1));
    await refreshFigureSnapshots(h.bot.deps.db, computedAt(3), zone());
    try {
      const report = await statusReport(h.bot.deps, { windowMs: 7 * DAY_MS, windowLabel: "7d" });
      expect(report.figuresAsOf).toEqual(computedAt(1));
    } finally {
      await forget();
    }
  });
});
