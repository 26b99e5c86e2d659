/**
 * Deliveries on the outcomes queue: counted per pipeline, client and target without a row per
 * delivery, timed within 1%, each event of a batch judged on its own, bad ones grouped on one
 * card, redeliveries counted once, clock skew clamped, a started delivery ended by its success
 * or its failure; shown by `/inventory pipelines`, `/inventory status` and GET /metrics.
 */
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { pipelineReports } from "../../src/deliveries/pipelines.service.js";
import {
  reportDeliveries,
  reportSyncStarted,
  reportSyncSuccess,
} from "../../src/outcomes/outcome-event.schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import { DESK, textOf, USERS } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const ROUTING = fileURLToPath(new URL("../fixtures/routing.deliveries.yml", import.meta.url));

const h = useHarness({
  ...DESK,
  routingFile: ROUTING,
  env: { DELIVERY_FLUSH_MS: "200", OUTCOME_CONCURRENCY: "200" },
});

const outcomes = () => h.producerQueue(h.env.OUTCOME_QUEUE);
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

let seq = 0;
async function inventory(text: string) {
  seq += 1;
  const id = `deliveries-${seq}`;
  const res = await h.slack.command({
    command: "/inventory",
    text,
    userId: USERS.alice,
    channelId: "C0FULFILL",
    responseUrl: h.fake.responseUrl(id),
  });
  expect(res.status).toBe(200);
  const answer = (await h.fake.waitForResponse(id)) as Record<string, unknown>;
  return { text: `${answer.text ?? ""}\n${textOf(answer)}`, blocks: answer.blocks as object[] };
}

async function report(name: string) {
  const reports = await pipelineReports(h.bot.deps, { windowMs: 3_600_000 });
  return reports.find((r) => r.name === name);
}

async function rowCount(table: string): Promise<number> {
  const [row] = await h.bot.deps.db.execute<{ n: string }>(
    sql`select count(*) as n from ${sql.raw(table)}`,
  );
  return Number(row?.n ?? 0);
}

describe("a batch of deliveries", () => {
  it("counts each good event, keeps bad ones grouped on one card, and times them within 1%", async () => {
    const occurredAt = ago(1000);
    const good = Array.from({ length: 100 }, (_, i) => ({
      kind: "sync.succeeded",
      eventId: `acme-batch-${i}`,
      client: "acme",
      sku: `ACME-${i}`,
      sourceSystem: "erp.netsuite",
      targetSystem: "storefront.shopify",
      triggeredAt: new Date(Date.parse(occurredAt) - (i + 1) * 1000).toISOString(),
      occurredAt,
      quantity: i,
    }));
    const bad = Array.from({ length: 30 }, (_, i) => ({
      kind: "sync.succeeded",
      client: "acme",
      sku: `BAD-${i}`,
      sourceSystem: "erp.netsuite",
      targetSystem: "storefront.shopify",
      occurredAt: "yesterday",
    }));
    await outcomes().add("sync.batch", { kind: "sync.batch", events: [...good, ...bad] });

    const acme = await eventually(async () => {
      const found = await report("acme-erp-to-shopify");
      return found && found.figures.deliveries === 100 ? found : null;
    });
    // Time-to-sync is 1 s .. 100 s: nearest-rank P50 = 50 s, P95 = 95 s, within 1%.
    expect(Math.abs((acme.figures.p50Ms as number) - 50_000) / 50_000).toBeLessThanOrEqual(0.01);
    expect(Math.abs((acme.figures.p95Ms as number) - 95_000) / 95_000).toBeLessThanOrEqual(0.01);
    expect(acme.figures.maxMs).toBe(100_000);
    // A handful of figure rows (minute and hour), never a row per delivery.
    expect(await rowCount("delivery_minutes")).toBeLessThanOrEqual(2);

    // The 30 bad events: one group, one card in the default role's channel.
    const [group] = await h.bot.deps.db.execute<{ count: string; problem: string; source: string }>(
      sql`select count, problem, source from delivery_rejections`,
    );
    expect(group).toMatchObject({ count: "30", source: "erp.netsuite" });
    expect(group?.problem).toContain("occurredAt");
    const card = await eventually(async () =>
      h.fake.messages("C0FULFILL").find((m) => textOf(m).includes("*30 events rejected*")),
    );
    expect(textOf(card)).toContain("from `erp.netsuite`");
    expect(textOf(card)).toContain("delivery contract");
    expect(
      h.fake.messages("C0FULFILL").filter((m) => textOf(m).includes("events rejected")),
    ).toHaveLength(1);

    const answer = await inventory("pipelines 1h");
    expect(answer.text).toContain("acme-erp-to-shopify");
    expect(answer.text).toContain("100 delivered · 0 failed (0% failed)");
    expect(answer.text).toMatch(/P50 (49\.\d|50\.\d)s · P95 1m 3[4-6]s · max 1m 40s/);
    // globex-feeds saw nothing: listed, and stale.
    expect(answer.text).toMatch(/globex-feeds\* · \*stale\*: no delivery seen/);
  });

  it("a batch that is not a batch is one rejection group, and the worker goes on", async () => {
    await outcomes().add("sync.batch", { kind: "sync.batch", events: [] });
    await outcomes().add("sync.batch", { kind: "sync.batch", events: "many" });
    await eventually(async () => {
      const rows = await h.bot.deps.db.execute<{ problem: string }>(
        sql`select problem from delivery_rejections where source = '(unknown)'`,
      );
      return rows.length === 2;
    });
  });
});

describe("one delivery per job", () => {
  it("a redelivered eventId counts once", async () => {
    const event = {
      kind: "sync.succeeded" as const,
      eventId: "globex-once",
      client: "globex",
      sku: "G-1",
      targetSystem: "crm.hubspot",
      triggeredAt: ago(5000),
      occurredAt: ago(2000),
    };
    await reportSyncSuccess(outcomes(), event);
    await reportSyncSuccess(outcomes(), event);
    const globex = await eventually(async () => {
      const found = await report("globex-feeds");
      return found && found.figures.duplicates === 1 ? found : null;
    });
    expect(globex.figures.deliveries).toBe(1);
    expect(globex.stale).toBe(false);
  });

  it("clock skew is clamped to 0 and counted, never a negative time-to-sync", async () => {
    await reportSyncSuccess(outcomes(), {
      kind: "sync.succeeded",
      eventId: "skewed-1",
      client: "initech",
      sku: "I-1",
      targetSystem: "ads.google",
      triggeredAt: ago(-60_000),
      occurredAt: ago(1000),
    });
    const none = await eventually(async () => {
      const found = await report("");
      return found && found.figures.clamped === 1 ? found : null;
    });
    expect(none.figures.maxMs).toBe(0);
    expect(none.figures.p50Ms).toBe(0);
  });

  it("a started delivery is ended by its success (timed from its start) or its failure", async () => {
    const start = (eventId: string, sku: string) =>
      reportSyncStarted(outcomes(), {
        kind: "sync.started",
        eventId,
        client: "globex",
        sku,
        sourceSystem: "erp.sap",
        targetSystem: "storefront.shopify",
        triggeredAt: ago(30_000),
      });
    await start("globex-started-ok", "G-OK");
    await start("globex-started-bad", "G-BAD");
    await eventually(async () => (await rowCount("delivery_inflight")) === 2);
    const [inflight] = await h.bot.deps.db.execute<{ deadline_at: Date; triggered_at: Date }>(
      sql`select deadline_at, triggered_at from delivery_inflight where event_id = 'globex-started-ok'`,
    );
    // globex-feeds has a 1m budget.
    expect(
      new Date(inflight?.deadline_at as Date).getTime() -
        new Date(inflight?.triggered_at as Date).getTime(),
    ).toBe(60_000);

    await reportSyncSuccess(outcomes(), {
      kind: "sync.succeeded",
      eventId: "globex-started-ok",
      client: "globex",
      sku: "G-OK",
      targetSystem: "storefront.shopify",
      occurredAt: ago(0),
    });
    await h.report(
      failureEvent({
        eventId: "globex-started-bad",
        client: "globex",
        sku: "G-BAD",
        occurredAt: ago(0),
      }),
    );
    await eventually(async () => (await rowCount("delivery_inflight")) === 0);
    const globex = await eventually(async () => {
      const found = await report("globex-feeds");
      return found && found.figures.failures === 1 && found.figures.deliveries === 2 ? found : null;
    });
    // Timed from its start: about 30 s.
    expect(globex.figures.maxMs).toBeGreaterThanOrEqual(29_000);
    expect(globex.figures.failedRate).toBeCloseTo(1 / 3, 5);
  });

  it("reportDeliveries batches what producers send, and refuses a bad event at the call site", async () => {
    await expect(
      reportDeliveries(outcomes(), [{ kind: "sync.started" } as never]),
    ).rejects.toThrow();
  });
});

describe("what people and Prometheus see", () => {
  it("/inventory status has a Freshness section, worst first", async () => {
    const { text } = await inventory("status");
    expect(text).toContain("*Freshness* (last 24h, worst first)");
    const stale = text.indexOf("acme-erp-to-shopify");
    expect(stale).toBeGreaterThan(-1);
  });

  it("/inventory pipelines <name> shows 1h, 24h, 7d and 30d and each client and target", async () => {
    const { text, blocks } = await inventory("pipelines acme-erp-to-shopify");
    for (const label of ["*1h*", "*24h*", "*7d*", "*30d*"]) expect(text).toContain(label);
    expect(text).toContain("acme → storefront.shopify");
    expect(blocks.length).toBeLessThanOrEqual(50);
  });

  it("bad arguments get a sentence", async () => {
    expect((await inventory("pipelines nope-pipeline x")).text).toContain(
      "I read both `nope-pipeline` and `x` as a client",
    );
    expect((await inventory("pipelines pipeline=nope")).text).toContain(
      "There is no pipeline `nope`",
    );
    expect((await inventory("pipelines 90d")).text).toContain("longer than the 30 days");
  });

  it("GET /metrics has the time-to-sync histogram and delivery counters per pipeline", async () => {
    const res = await fetch(`http://127.0.0.1:${h.bot.port}/metrics`);
    const body = await res.text();
    expect(body).toMatch(
      /syncdesk_time_to_sync_seconds_bucket\{le="\+Inf",pipeline="acme-erp-to-shopify"\} \d+/,
    );
    expect(body).toMatch(
      /syncdesk_deliveries_total\{pipeline="globex-feeds",outcome="failed"\} \d+/,
    );
    expect(body).toMatch(/syncdesk_deliveries_clamped_total\{pipeline="none"\} \d+/);
  });
});
