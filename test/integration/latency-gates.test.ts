/**
 * Latency gates: a started delivery with no end within its budget, a pipeline with no success
 * within its freshness and a pipeline whose time-to-sync P95 is over budget each open one
 * exception in the pipeline's role's channel, with a card saying when the delivery was expected
 * and how overdue it is, and clear it themselves when the cause goes away. Gates sleep outside
 * the pipeline's hours, survive a restart of the workers and fire once with two of them.
 *
 * The harness runs the web role only; workers are started (and stopped) as other processes on
 * the same database and queues. Budgets and freshness are seconds, on the real clock.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockKitViolations } from "../../dev/slack/block-kit-limits.js";
import { gateDetailOf, overdueMs } from "../../src/exceptions/gate-detail.js";
import { clearUndeclaredPipelines } from "../../src/gates/gate-endings.js";
import { checkBudgets } from "../../src/gates/gates.service.js";
import { renderDigest } from "../../src/inventory/digest.view.js";
import { publishHome } from "../../src/inventory/home.service.js";
import {
  checklistLines,
  roleFreshness,
  weekFigures,
} from "../../src/inventory/inventory.service.js";
import {
  reportDeliveries,
  reportSyncStarted,
  reportSyncSuccess,
} from "../../src/outcomes/outcome-event.schema.js";
import { registry } from "../../src/platform/metrics.js";
import { staticRouting } from "../../src/routing/active-routing.js";
import type { Syncdesk } from "../../src/syncdesk.js";
import { eventually, failureEvent } from "../support/harness.js";
import { DESK, textOf } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

/** How late a gate may fire on this shared, loaded machine (the bound is 5 s). */
const ON_TIME_MS = 5_000;
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
/** A whole UTC day three days from today: the night pipeline's hours are never now. */
const CLOSED_DAY = DAYS[(new Date().getUTCDay() + 3) % 7];

const ROUTING = join(mkdtempSync(join(tmpdir(), "syncdesk-gates-")), "routing.yml");
writeFileSync(
  ROUTING,
  `roles:
  gate-ops:
    channel: C0GATES
    members: [U0ALICE]
    managers: [U0MGR]
  night-ops:
    channel: C0NIGHT
    members: [U0BOB]
    managers: [U0MGR]
    timezone: UTC
routes:
  - role: gate-ops
pipelines:
  - name: late-pipe
    match: { client: lateco }
    budget: 2s
    freshness: 1d
  - name: stale-pipe
    match: { client: staleco, targetSystem: "storefront.*" }
    budget: 1h
    freshness: 3s
  - name: night-pipe
    match: { client: nightco }
    budget: 1s
    freshness: 2s
    hours: "${CLOSED_DAY} 00:00-24:00"
    role: night-ops
  - name: budget-pipe
    match: { client: budgetco }
    budget: 2s
    freshness: 1d
  - name: gone-pipe
    match: { client: goneco }
    budget: 1h
    freshness: 2s
retryQueues: []
`,
);

const MIN_DELIVERIES = 5;
const h = useHarness({
  ...DESK,
  roles: ["web"],
  routingFile: ROUTING,
  env: {
    DELIVERY_FLUSH_MS: "200",
    GATE_SWEEP_MS: "1000",
    GATE_MIN_DELIVERIES: String(MIN_DELIVERIES),
  },
});

let worker: Syncdesk;
beforeAll(async () => {
  worker = await h.startAnother(["worker"]);
});
afterAll(async () => {
  await worker.stop();
});

const outcomes = () => h.producerQueue(h.env.OUTCOME_QUEUE);
const iso = (ms: number) => new Date(ms).toISOString();

async function gateExceptions(sku: string) {
  const rows = await h.exceptionsFor(sku);
  return rows.filter((row) => gateDetailOf(row.latestEvent) !== null);
}

async function openedOne(sku: string, timeoutMs = 15_000) {
  return eventually(
    async () => {
      const [row] = await gateExceptions(sku);
      return row?.cardTs ? row : null;
    },
    timeoutMs,
    `the gate's card for ${sku}`,
  );
}

function cardOf(row: { channel: string; cardTs: string | null }) {
  const card = h.fake.messages(row.channel).find((m) => m.ts === row.cardTs);
  if (!card) throw new Error(`no card ${row.cardTs} in ${row.channel}`);
  return textOf(card);
}

async function resolved(id: number) {
  return eventually(
    async () => {
      const row = await h.exception(id);
      return row.state === "resolved" ? row : null;
    },
    10_000,
    `exception ${id} resolved`,
  );
}

async function threadText(row: { channel: string; cardTs: string | null }) {
  return h.fake
    .threadReplies(row.channel, row.cardTs ?? "")
    .map((m) => String(m.text ?? ""))
    .join("\n");
}

describe("late delivery", () => {
  it("opens an exception for the SKU within 5 s of its budget; its success resolves it, saying how late", async () => {
    const triggeredAt = Date.now();
    await reportSyncStarted(outcomes(), {
      kind: "sync.started",
      eventId: "late-1",
      client: "lateco",
      sku: "LATE-1",
      sourceSystem: "erp.netsuite",
      targetSystem: "storefront.shopify",
      triggeredAt: iso(triggeredAt),
    });
    const row = await openedOne("LATE-1");
    expect(row).toMatchObject({ failureMode: "latency", role: "gate-ops", channel: "C0GATES" });
    const gate = gateDetailOf(row.latestEvent);
    expect(gate?.expectedAt).toBe(iso(triggeredAt + 2000));
    expect(overdueMs(gate as NonNullable<typeof gate>)).toBeLessThan(ON_TIME_MS);
    const card = cardOf(row);
    expect(card).toContain("Late delivery");
    expect(card).toMatch(/expected at the target by/);
    expect(card).toMatch(/Overdue by \*\d+s\*/);

    const deliveredAt = Date.now();
    await reportSyncSuccess(outcomes(), {
      kind: "sync.succeeded",
      eventId: "late-1",
      client: "lateco",
      sku: "LATE-1",
      targetSystem: "storefront.shopify",
      triggeredAt: iso(triggeredAt),
      occurredAt: iso(deliveredAt),
    });
    const done = await resolved(row.id);
    expect(done.resolution).toBe("recovered");
    const audit = await h.audit(row.id);
    expect(audit.at(-1)).toMatchObject({ action: "gate_cleared", source: "gate" });
    expect(audit.at(-1)?.details).toMatchObject({ gate: "late", deliveryEventId: "late-1" });
    await eventually(async () => /late\*.*Resolved as recovered/.test(await threadText(row)));
    expect(await threadText(row)).toMatch(/against a budget of 2s/);
    // Counted for Prometheus (the workers run in this process).
    const shown = await registry.getSingleMetricAsString("syncdesk_gate_exceptions_cleared_total");
    expect(shown).toMatch(
      /syncdesk_gate_exceptions_cleared_total\{gate="late",pipeline="late-pipe"\} [1-9]/,
    );
  });
});

describe("a late delivery that then fails for good", () => {
  it("is cleared by its failure, whose own exception carries the SKU from there", async () => {
    const triggeredAt = Date.now();
    await reportSyncStarted(outcomes(), {
      kind: "sync.started",
      eventId: "late-failed-1",
      client: "lateco",
      sku: "LATE-F",
      sourceSystem: "erp.netsuite",
      targetSystem: "storefront.shopify",
      triggeredAt: iso(triggeredAt),
    });
    const late = await openedOne("LATE-F");
    const failedAt = Date.now();
    await h.report(
      failureEvent({
        eventId: "late-failed-1",
        client: "lateco",
        sku: "LATE-F",
        occurredAt: iso(failedAt),
      }),
    );
    expect((await resolved(late.id)).resolution).toBe("recovered");
    const audit = await h.audit(late.id);
    expect(audit.at(-1)).toMatchObject({ action: "gate_cleared", source: "gate" });
    expect(audit.at(-1)?.details).toMatchObject({
      gate: "late",
      deliveryEventId: "late-failed-1",
      failedAt: iso(failedAt),
    });
    await eventually(async () =>
      /`late-failed-1` failed for good.*exception of that failure carries it/.test(
        await threadText(late),
      ),
    );
    // The failure's own exception is the live one for the SKU.
    const live = (await h.exceptionsFor("LATE-F")).filter((row) => row.state !== "resolved");
    expect(live).toHaveLength(1);
    expect(live[0]?.failureMode).toBe("partial_write");
  });
});

describe("a pipeline the routing no longer declares", () => {
  it("has its stale exception cleared by the sweep, which names the routing version", async () => {
    const row = await openedOne("pipeline:gone-pipe");
    const config = h.bot.deps.routing.current().config;
    const without = {
      ...config,
      pipelines: config.pipelines.filter((pipeline) => pipeline.name !== "gone-pipe"),
    };
    const deps = { ...h.bot.deps, routing: staticRouting(without, 7) };
    expect(await clearUndeclaredPipelines(deps)).toBeGreaterThanOrEqual(1);
    expect((await resolved(row.id)).resolution).toBe("recovered");
    expect((await h.audit(row.id)).at(-1)?.details).toMatchObject({
      gate: "stale",
      pipeline: "gone-pipe",
      routingVersion: 7,
    });
    await eventually(async () =>
      /`gone-pipe` is no longer declared in the routing \(v7\)/.test(await threadText(row)),
    );
    // Declared pipelines keep theirs: a second pass over the same routing clears nothing else.
    const others = await h.bot.deps.db.execute<{ n: string }>(
      sql`select count(*) as n from exceptions where state <> 'resolved'
        and failure_mode in ('stale', 'over_budget') and sku <> 'pipeline:gone-pipe'`,
    );
    expect(await clearUndeclaredPipelines(deps)).toBe(0);
    const after = await h.bot.deps.db.execute<{ n: string }>(
      sql`select count(*) as n from exceptions where state <> 'resolved'
        and failure_mode in ('stale', 'over_budget') and sku <> 'pipeline:gone-pipe'`,
    );
    expect(after[0]?.n).toBe(others[0]?.n);
  });
});

describe("a late delivery that arrived in time but was reported late", () => {
  it("is cleared by its success all the same, and the note says so", async () => {
    const triggeredAt = Date.now();
    const common = {
      eventId: "early-1",
      client: "lateco",
      sku: "EARLY-1",
      targetSystem: "storefront.shopify",
    };
    await reportSyncStarted(outcomes(), {
      kind: "sync.started",
      ...common,
      sourceSystem: "erp.netsuite",
      triggeredAt: iso(triggeredAt),
    });
    const row = await openedOne("EARLY-1");
    // Delivered 1 s after the change (within the 2 s budget), reported only now.
    await reportSyncSuccess(outcomes(), {
      kind: "sync.succeeded",
      ...common,
      triggeredAt: iso(triggeredAt),
      occurredAt: iso(triggeredAt + 1000),
    });
    expect((await resolved(row.id)).resolution).toBe("recovered");
    await eventually(async () => /arrived in time/.test(await threadText(row)));
  });
});

describe("stale pipeline", () => {
  it("opens one exception for the pipeline within 5 s of its freshness; the next success resolves it", async () => {
    const row = await openedOne("pipeline:stale-pipe");
    expect(row).toMatchObject({
      failureMode: "stale",
      client: "staleco",
      targetSystem: "storefront.*",
      role: "gate-ops",
    });
    const gate = gateDetailOf(row.latestEvent);
    expect(overdueMs(gate as NonNullable<typeof gate>)).toBeLessThan(ON_TIME_MS);
    expect(cardOf(row)).toMatch(/Stale pipeline.*no successful delivery seen/);
    expect(cardOf(row)).toMatch(/freshness 3s/);

    await reportSyncSuccess(outcomes(), {
      kind: "sync.succeeded",
      eventId: "stale-back-1",
      client: "staleco",
      sku: "S-1",
      targetSystem: "storefront.shopify",
      occurredAt: iso(Date.now()),
    });
    expect((await resolved(row.id)).resolution).toBe("recovered");
    await eventually(async () => /delivers again/.test(await threadText(row)));
    // Still one exception for the pipeline: the sweep and the timer never opened a second.
    expect(await gateExceptions("pipeline:stale-pipe")).toHaveLength(1);

    // Silent again for its freshness: a new episode, counted from that success.
    const again = await eventually(
      async () => (await gateExceptions("pipeline:stale-pipe")).find((r) => r.id !== row.id),
      15_000,
      "the next stale episode",
    );
    expect(gateDetailOf(again.latestEvent)?.lastDeliveredAt).toBeTruthy();
    expect(again.reopenOf).toBe(row.id);
  });
});

describe("outside the pipeline's hours", () => {
  it("neither a late delivery nor a stale pipeline pages; both wait for the next opening", async () => {
    await reportSyncStarted(outcomes(), {
      kind: "sync.started",
      eventId: "night-1",
      client: "nightco",
      sku: "NIGHT-1",
      sourceSystem: "erp.netsuite",
      targetSystem: "storefront.shopify",
      triggeredAt: iso(Date.now() - 10_000),
    });
    const opening = Date.parse(`${nextUtcDate(CLOSED_DAY as string)}T00:00:00.000Z`);
    // The gate looked at it, and moved its deadline to the opening of the pipeline's hours.
    await eventually(
      async () => {
        const [row] = await h.bot.deps.db.execute<{ deadline_at: string | Date }>(
          sql`select deadline_at from delivery_inflight where event_id = 'night-1'`,
        );
        return row && new Date(row.deadline_at).getTime() === opening;
      },
      10_000,
      "the late gate to sleep until the opening",
    );
    // The stale gate too: freshness counts only inside the hours, so 2 s into the opening.
    await eventually(
      async () => {
        const [row] = await h.bot.deps.db.execute<{ stale_timer_at: string | Date | null }>(
          sql`select stale_timer_at from pipeline_watch where pipeline = 'night-pipe'`,
        );
        return row?.stale_timer_at && new Date(row.stale_timer_at).getTime() === opening + 2000;
      },
      10_000,
      "the stale gate to sleep until the opening",
    );
    expect(await h.exceptionsFor("NIGHT-1")).toEqual([]);
    expect(await h.exceptionsFor("pipeline:night-pipe")).toEqual([]);
    expect(h.fake.messages("C0NIGHT")).toEqual([]);
  });
});

describe("over budget", () => {
  const slow = (n: number, from: number, ttsMs: number) =>
    Array.from({ length: n }, (_, i) => ({
      kind: "sync.succeeded" as const,
      eventId: `budget-${from + i}`,
      client: "budgetco",
      sku: `B-${from + i}`,
      targetSystem: "storefront.shopify",
      triggeredAt: iso(Date.now() - ttsMs),
      occurredAt: iso(Date.now()),
    }));
  const flushed = async (count: number) =>
    eventually(async () => {
      const [row] = await h.bot.deps.db.execute<{ n: string }>(
        sql`select coalesce(sum(timed), 0) as n from delivery_minutes where pipeline = 'budget-pipe'`,
      );
      return Number(row?.n) === count;
    });

  it("needs its minimum of deliveries, opens one exception when P95 is over, and clears it once under", async () => {
    await reportDeliveries(outcomes(), slow(MIN_DELIVERIES - 1, 0, 10_000));
    await flushed(MIN_DELIVERIES - 1);
    // Slow, but too few to judge: what the sweep runs opens nothing.
    expect(await checkBudgets(h.bot.deps, { minDeliveries: MIN_DELIVERIES })).toBe(0);
    expect(await h.exceptionsFor("pipeline:budget-pipe")).toEqual([]);

    await reportDeliveries(outcomes(), slow(1, 100, 10_000));
    await flushed(MIN_DELIVERIES);
    const row = await openedOne("pipeline:budget-pipe", 10_000);
    expect(row.failureMode).toBe("over_budget");
    expect(cardOf(row)).toMatch(/Over budget.*P95 \*(9|10)s\*.*5 deliveries.*budget 2s/s);

    // 200 fast deliveries bring P95 of the window back under its budget.
    await reportDeliveries(outcomes(), slow(200, 1000, 100));
    expect((await resolved(row.id)).resolution).toBe("recovered");
    await eventually(async () => /back under budget/.test(await threadText(row)));
    expect(await gateExceptions("pipeline:budget-pipe")).toHaveLength(1);
  });
});

describe("durable and single", () => {
  it("a late timer armed before the workers stop fires after they start again", async () => {
    const triggeredAt = Date.now();
    await reportSyncStarted(outcomes(), {
      kind: "sync.started",
      eventId: "restart-1",
      client: "lateco",
      sku: "RESTART-1",
      sourceSystem: "erp.netsuite",
      targetSystem: "storefront.shopify",
      triggeredAt: iso(triggeredAt),
    });
    await eventually(async () => {
      const rows = await h.bot.deps.db.execute(
        sql`select 1 from delivery_inflight where event_id = 'restart-1'`,
      );
      return rows.length === 1;
    });
    await worker.stop();
    // Down past the deadline: nothing can have opened it.
    await eventually(async () => Date.now() > triggeredAt + 3000, 10_000);
    expect(await h.exceptionsFor("RESTART-1")).toEqual([]);

    const restartedAt = Date.now();
    worker = await h.startAnother(["worker"]);
    const row = await openedOne("RESTART-1");
    expect(row.openedAt.getTime() - restartedAt).toBeLessThan(ON_TIME_MS);
  });

  it("two workers open each late delivery's exception once", async () => {
    const second = await h.startAnother(["worker"]);
    try {
      const triggeredAt = Date.now();
      const skus = Array.from({ length: 8 }, (_, i) => `TWICE-${i}`);
      await reportDeliveries(
        outcomes(),
        skus.map((sku) => ({
          kind: "sync.started" as const,
          eventId: `twice-${sku}`,
          client: "lateco",
          sku,
          sourceSystem: "erp.netsuite",
          targetSystem: "storefront.shopify",
          triggeredAt: iso(triggeredAt),
        })),
      );
      for (const sku of skus) await openedOne(sku);
      // Every sweep and timer of both workers has had its chance at them.
      await eventually(async () => Date.now() > triggeredAt + 2000 + 3000, 10_000);
      for (const sku of skus) {
        const rows = await h.exceptionsFor(sku);
        expect(rows).toHaveLength(1);
        const audit = await h.audit((rows[0] as { id: number }).id);
        expect(audit.filter((entry) => entry.action === "opened")).toHaveLength(1);
        expect(rows[0]?.occurrences).toBe(1);
      }
    } finally {
      await second.stop();
    }
  });
});

describe("the Monday checklist", () => {
  it("reads pipeline freshness beside the human SLA, and says which QA checks ran", async () => {
    const dup = {
      kind: "sync.succeeded" as const,
      eventId: "dup-1",
      client: "lateco",
      sku: "DUP-1",
      targetSystem: "storefront.shopify",
      occurredAt: iso(Date.now()),
    };
    await reportSyncSuccess(outcomes(), dup);
    await outcomes().add("sync.succeeded", dup); // a producer's redelivery, another job
    const lines = await eventually(async () => {
      const all = await checklistLines(h.bot.deps);
      const qa = all.find((l) => l.key === "qa");
      return qa?.detail.includes("1 duplicate delivery suppressed") ? all : null;
    });
    const byKey = Object.fromEntries(lines.map((l) => [l.key, l]));
    // stale-pipe went stale again above and nothing has delivered since; night-pipe never
    // delivered at all; late-1 took longer than late-pipe's budget.
    expect(byKey.freshness?.status).toBe("attention");
    expect(byKey.freshness?.detail).toContain("Stale: `gone-pipe`, `night-pipe`, `stale-pipe`.");
    expect(byKey.freshness?.detail).toMatch(/Over budget: `late-pipe` \(P95 \d+\.\ds, budget 2s\)/);
    expect(byKey.freshness?.links.length).toBeGreaterThan(0);
    expect(byKey.sla?.title).toBe("No role past its SLA");
    expect(byKey.qa?.status).toBe("attention");
    // The night pipeline only ever started a delivery: it reported none.
    expect(byKey.qa?.detail).toMatch(/No deliveries in 24 h from `gone-pipe`, `night-pipe`/);
  });
});

describe("freshness where people look", () => {
  it("App Home and the weekly digest show the role's pipelines, worst first", async () => {
    await publishHome(h.bot.deps, "U0ALICE");
    const home = textOf(h.fake.lastView("U0ALICE") as Record<string, unknown>);
    expect(home).toContain("*Freshness* (last 24h, worst first)");
    // gate-ops owns late, stale and budget pipelines; night-pipe belongs to night-ops.
    expect(home.indexOf("stale-pipe")).toBeLessThan(home.indexOf("budget-pipe"));
    expect(home).not.toContain("night-pipe");

    const freshness = await roleFreshness(h.bot.deps, ["gate-ops"], 7 * 86_400_000);
    const digest = renderDigest(
      "gate-ops",
      await weekFigures(h.bot.deps, ["gate-ops"]),
      [],
      new Date(),
      () => null,
      freshness,
    );
    const text = textOf(digest as never);
    expect(text).toContain("*Freshness* (last 7 days, worst first)");
    expect(text).toMatch(/stale-pipe.*stale/s);
    expect(blockKitViolations(digest, "message")).toEqual([]);
    expect(h.fake.violations).toEqual([]);
  });
});

/** The next date (YYYY-MM-DD, UTC) falling on `day`, after today. */
function nextUtcDate(day: string): string {
  const target = DAYS.indexOf(day);
  const at = new Date();
  do at.setUTCDate(at.getUTCDate() + 1);
  while (at.getUTCDay() !== target);
  return at.toISOString().slice(0, 10);
}
