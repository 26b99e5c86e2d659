/**
 * Outcome recovery: a producer reports a later successful sync on `inventory-sync-outcomes`,
 * and every open exception of that client, SKU and target resolves as recovered. An older
 * success proves nothing; an outcome that breaks its contract is a rejection, not a crash.
 */
import { describe, expect, it } from "vitest";
import type { FailureEventInput } from "../../src/intake/failure-event.schema.js";
import { deliveryRejections } from "../../src/platform/db/schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import {
  auditOf,
  cardOf,
  click,
  DESK,
  exceptionOf,
  textOf,
  threadOf,
  USERS,
} from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness(DESK);

const FAILED_AT = "2026-11-26T09:00:00Z";
const LATER = "2026-11-26T09:30:00Z";
const EARLIER = "2026-11-26T08:30:00Z";

async function open(overrides: Partial<FailureEventInput>) {
  const event = failureEvent({ occurredAt: FAILED_AT, ...overrides });
  await h.report(event);
  return exceptionOf(h, event.eventId);
}

function outcome(sku: string, occurredAt: string, extra: Record<string, unknown> = {}) {
  return {
    kind: "sync.succeeded",
    client: "globex",
    sku,
    targetSystem: "storefront.shopify",
    occurredAt,
    ...extra,
  };
}

describe("a later successful sync", () => {
  it("resolves every open exception of that client, SKU and target as recovered", async () => {
    const sku = "SKU-RECOVER";
    const partial = await open({ sku, failureMode: "partial_write" });
    const throttled = await open({ sku, failureMode: "throttled" });
    const otherTarget = await open({ sku, targetSystem: "storefront.bigcommerce" });
    const otherClient = await open({ sku: "SKU-RECOVER", client: "acme" });
    // A claimed one recovers too.
    await click(h, USERS.alice, throttled.id, "claim");
    await eventually(async () => (await h.exception(throttled.id)).state === "claimed");

    await h.reportOutcome(outcome(sku, LATER));
    for (const row of [partial, throttled]) {
      await eventually(async () => (await h.exception(row.id)).state === "resolved");
      expect(await h.exception(row.id)).toMatchObject({
        resolution: "recovered",
        resolvedBy: null,
      });
      const [audit] = await auditOf(h, row.id, "recovered");
      expect(audit).toMatchObject({ actor: "system", source: "outcome", stateAfter: "resolved" });
      expect(audit?.details).toMatchObject({ succeededAt: new Date(LATER).toISOString() });
      const text = await eventually(async () => {
        const current = textOf(await cardOf(h, row.id));
        return current.includes("*Resolved*") ? current : null;
      });
      expect(text).toContain("recovered: a later sync of this SKU to storefront.shopify succeeded");
      await eventually(async () =>
        (await threadOf(h, row.id)).some((line) => line.includes("resolved as recovered")),
      );
    }
    expect((await auditOf(h, throttled.id, "recovered"))[0]?.stateBefore).toBe("claimed");
    expect((await h.exception(otherTarget.id)).state).toBe("open");
    expect((await h.exception(otherClient.id)).state).toBe("open");
  });

  it("ignores a success older than the latest failure", async () => {
    const sku = "SKU-OLD-SUCCESS";
    const row = await open({ sku });
    await h.reportOutcome(outcome(sku, EARLIER), "outcome-old");
    const job = await eventually(() => h.producerQueue(h.env.OUTCOME_QUEUE).getJob("outcome-old"));
    await eventually(async () => (await job.getState()) === "completed");
    expect((await h.exception(row.id)).state).toBe("open");
    expect(await auditOf(h, row.id, "recovered")).toEqual([]);
  });

  it("a second report of the same success changes nothing more", async () => {
    const sku = "SKU-TWICE";
    const row = await open({ sku });
    await h.reportOutcome(outcome(sku, LATER));
    await eventually(async () => (await h.exception(row.id)).state === "resolved");
    await h.reportOutcome(outcome(sku, LATER), "outcome-twice");
    const job = await eventually(() =>
      h.producerQueue(h.env.OUTCOME_QUEUE).getJob("outcome-twice"),
    );
    await eventually(async () => (await job.getState()) === "completed");
    expect(await auditOf(h, row.id, "recovered")).toHaveLength(1);
  });

  it("does not resolve what a person already resolved", async () => {
    const sku = "SKU-MANUAL-FIRST";
    const row = await open({ sku });
    await h.slack.viewSubmission({
      userId: USERS.bob,
      callbackId: "exception.resolve.submit",
      privateMetadata: JSON.stringify({ exceptionId: row.id, channel: row.channel }),
      values: {
        note: { value: { type: "plain_text_input", value: "Fixed by hand" } },
        root_cause: {
          value: { type: "static_select", selected_option: { value: "source_data" } },
        },
      },
    });
    await eventually(async () => (await h.exception(row.id)).resolvedBy === USERS.bob);
    await h.reportOutcome(outcome(sku, LATER), "outcome-after-manual");
    const job = await eventually(() =>
      h.producerQueue(h.env.OUTCOME_QUEUE).getJob("outcome-after-manual"),
    );
    await eventually(async () => (await job.getState()) === "completed");
    expect(await h.exception(row.id)).toMatchObject({
      resolution: "manual",
      resolvedBy: USERS.bob,
    });
  });
});

describe("an outcome that breaks its contract", () => {
  // Outcomes arrive at the volume of all stock updates: a bad one is counted in a group (per
  // producer source and problem) on the day's one card, never a card of its own.
  async function groups() {
    return h.bot.deps.db
      .select()
      .from(deliveryRejections)
      .orderBy(deliveryRejections.source, deliveryRejections.problem);
  }

  it("is counted in a group shown on its producer's card, and nothing resolves", async () => {
    const sku = "SKU-BAD-OUTCOME";
    const row = await open({ sku });
    await h.reportOutcome({ ...outcome(sku, LATER), kind: "sync.maybe", extra: 1 }, "bad-outcome");
    await h.reportOutcome({ ...outcome(sku, LATER), kind: "sync.maybe" }, "bad-outcome-2");
    const group = await eventually(async () =>
      (await groups()).find((g) => g.problem.startsWith("kind:") && g.count === 2),
    );
    expect(group.source).toBe("(unknown)");
    const card = await eventually(async () =>
      h.fake
        .messages("C0FULFILL")
        .find((m) => textOf(m).includes("*2 events rejected* from `unknown producer`")),
    );
    expect(textOf(card)).toContain("delivery contract");
    expect((await h.exception(row.id)).state).toBe("open");

    // The outcome worker keeps going.
    await h.reportOutcome(outcome(sku, LATER));
    await eventually(async () => (await h.exception(row.id)).state === "resolved");
  });

  it.each([
    [
      "without a SKU",
      { kind: "sync.succeeded", client: "globex", targetSystem: "x", occurredAt: LATER },
      "sku: is required",
    ],
    [
      "with a date without offset",
      outcome("SKU-X", "2026-11-26T09:30:00"),
      "occurredAt: Invalid ISO datetime",
    ],
    ["that is a string", "sync.succeeded", "(event): "],
    ["that is null", null, "(event): "],
  ])("rejects an outcome %s", async (_what, data, problem) => {
    const before = (await groups()).filter((g) => g.problem.startsWith(problem));
    const count = before.reduce((sum, g) => sum + g.count, 0);
    await h.reportOutcome(data, `bad-${Math.random().toString(36).slice(2)}`);
    await eventually(async () => {
      const after = (await groups()).filter((g) => g.problem.startsWith(problem));
      return after.reduce((sum, g) => sum + g.count, 0) === count + 1;
    });
  });
});
