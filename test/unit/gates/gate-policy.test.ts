import { describe, expect, it } from "vitest";
import { blockKitViolations } from "../../../dev/slack/block-kit-limits.js";
import { renderCard } from "../../../src/exceptions/card.js";
import { gateDetailOf, gateLines, overdueMs } from "../../../src/exceptions/gate-detail.js";
import {
  judgeBudget,
  judgeStale,
  lateClearedSentence,
  lateEvent,
  overBudgetEvent,
  staleEvent,
} from "../../../src/gates/gate-policy.js";
import { failureEventSchema } from "../../../src/intake/failure-event.schema.js";
import { fingerprint } from "../../../src/intake/fingerprint.js";
import type { PipelineConfig } from "../../../src/routing/routing-file.schema.js";
import { parseWeeklyHours } from "../../../src/routing/weekly-hours.js";

const pipeline: PipelineConfig = {
  index: 0,
  name: "acme-erp-to-shopify",
  match: { client: ["acme"], sourceSystem: ["erp.netsuite"], targetSystem: ["storefront.*"] },
  budgetMs: 5 * 60_000,
  freshnessMs: 30 * 60_000,
  hours: parseWeeklyHours("Mon-Fri 08:00-18:00"),
  timezone: "Europe/Berlin",
  role: "storefront-ops",
  roleDeclared: true,
  line: 0,
};
const at = (text: string) => Date.parse(text);

describe("the stale gate", () => {
  it("counts freshness only inside the pipeline's hours", () => {
    // Last success Friday 17:50 Berlin (16:50Z): 10 minutes left that day, 20 on Monday 08:00.
    const judged = judgeStale(pipeline, at("2026-12-04T16:50:00Z"), at("2026-12-05T10:00:00Z"));
    expect(judged).toEqual({ kind: "fresh", deadline: at("2026-12-07T07:20:00Z") });
  });

  it("is stale past the deadline inside hours, and asleep (until the opening) outside them", () => {
    const since = at("2026-12-07T08:00:00Z"); // Monday 09:00 Berlin
    expect(judgeStale(pipeline, since, at("2026-12-07T08:31:00Z"))).toEqual({
      kind: "stale",
      deadline: at("2026-12-07T08:30:00Z"),
    });
    // Deadline 17:59 Berlin, checked at 18:01: no page until Tuesday 08:00.
    const late = judgeStale(pipeline, at("2026-12-07T16:29:00Z"), at("2026-12-07T17:01:00Z"));
    expect(late).toEqual({
      kind: "asleep",
      deadline: at("2026-12-07T16:59:00Z"),
      at: at("2026-12-08T07:00:00Z"),
    });
  });
});

describe("the over-budget gate", () => {
  it("needs its minimum of timed deliveries before it calls a P95 over budget", () => {
    const slow = 6 * 60_000;
    expect(judgeBudget(pipeline, { p95Ms: slow, timed: 2 }, 20)).toEqual({
      kind: "too_few",
      deliveries: 2,
    });
    expect(judgeBudget(pipeline, { p95Ms: slow, timed: 20 }, 20)).toEqual({
      kind: "over",
      p95Ms: slow,
      deliveries: 20,
    });
    expect(judgeBudget(pipeline, { p95Ms: 60_000, timed: 3 }, 20)).toEqual({
      kind: "under",
      p95Ms: 60_000,
      deliveries: 3,
    });
    expect(judgeBudget(pipeline, { p95Ms: null, timed: 0 }, 20).kind).toBe("too_few");
    // Exactly at budget is within it.
    expect(judgeBudget(pipeline, { p95Ms: pipeline.budgetMs, timed: 50 }, 20).kind).toBe("under");
  });
});

describe("gate events", () => {
  const now = at("2026-12-07T09:07:30Z");
  const delivery = {
    eventId: "evt-1",
    client: "acme",
    sku: "SKU-1",
    sourceSystem: "erp.netsuite",
    targetSystem: "storefront.shopify",
    triggeredAt: at("2026-12-07T09:00:00Z"),
  };

  it("keep to the failure-event contract, and each pipeline gate has a fingerprint of its own", () => {
    const events = [
      lateEvent(pipeline, delivery, now),
      staleEvent(pipeline, { lastDeliveredAt: null, deadline: now - 1000 }, now),
      overBudgetEvent(pipeline, { p95Ms: 400_000, deliveries: 42 }, now),
    ].map((event) => failureEventSchema.parse(event));
    expect(events.map((e) => e.failureMode)).toEqual(["latency", "stale", "over_budget"]);
    expect(new Set(events.map(fingerprint)).size).toBe(3);
    expect(events[1]).toMatchObject({ client: "acme", sku: "pipeline:acme-erp-to-shopify" });
    // A delivery's id of 200 characters still makes an eventId the contract takes.
    const long = lateEvent(pipeline, { ...delivery, eventId: "x".repeat(200) }, now);
    expect(failureEventSchema.safeParse(long).success).toBe(true);
  });

  it("tell on the card when the delivery was expected and how overdue it was", () => {
    const event = failureEventSchema.parse(lateEvent(pipeline, delivery, now));
    const detail = gateDetailOf(event);
    expect(detail?.expectedAt).toBe("2026-12-07T09:05:00.000Z");
    expect(overdueMs(detail as NonNullable<typeof detail>)).toBe(150_000);
    const lines = gateLines(detail as NonNullable<typeof detail>).join("\n");
    expect(lines).toContain("Late delivery");
    expect(lines).toContain("Overdue by *2m 30s*");
    expect(lines).toContain("budget 5m");
  });

  it("a producer's own failure has no gate lines, and a gate card stays within Slack's limits", () => {
    const base = {
      id: 7,
      client: "acme",
      sku: "SKU-1",
      vertical: null,
      sourceSystem: "erp.netsuite",
      targetSystem: "storefront.shopify",
      operation: "stock_update",
      failureMode: "latency",
      severity: "normal",
      role: "storefront-ops",
      ruleIndex: 0,
      state: "open",
      claimedBy: null,
      retryCount: 0,
      occurrences: 1,
      firstSeenAt: new Date(now),
      lastSeenAt: new Date(now),
    };
    const gate = failureEventSchema.parse(
      staleEvent(pipeline, { lastDeliveredAt: now - 3_600_000, deadline: now - 60_000 }, now),
    );
    const card = renderCard({ ...base, latestEvent: gate, firstEvent: gate } as never);
    const text = JSON.stringify(card.blocks);
    expect(text).toContain("Stale pipeline");
    expect(text).toContain("Overdue by *1m*");
    expect(blockKitViolations({ blocks: card.blocks, text: card.text }, "message")).toEqual([]);
    expect(gateDetailOf({ ...gate, gate: undefined } as never)).toBeNull();
  });

  it("say how late the delivery that clears a late exception was", () => {
    const detail = gateDetailOf(failureEventSchema.parse(lateEvent(pipeline, delivery, now)));
    const sentence = lateClearedSentence(
      detail as NonNullable<typeof detail>,
      at("2026-12-07T09:08:00Z"),
    );
    expect(sentence).toContain("*3m 00s late*");
    expect(sentence).toContain("time-to-sync 8m 00s against a budget of 5m");
    expect(
      lateClearedSentence(detail as NonNullable<typeof detail>, at("2026-12-07T09:04:00Z")),
    ).toContain("arrived in time");
  });
});
