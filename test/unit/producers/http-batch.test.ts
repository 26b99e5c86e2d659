/** How one item of an HTTP batch is judged, and the token header: pure, no I/O. */
import { describe, expect, it } from "vitest";
import { failureJobId } from "../../../src/intake/failure-event.schema.js";
import {
  batchShapeProblem,
  judgeItem,
  MAX_HTTP_EVENTS,
} from "../../../src/producers/http-batch.js";
import {
  bearerToken,
  newProducerToken,
  tokenSha256,
} from "../../../src/producers/producer-token.js";

const config = { retryQueues: ["storefront-*"] };
const own = ["syncdesk", "inventory-sync-failures", "inventory-sync-outcomes"];
const event = {
  eventId: "e-1",
  occurredAt: "2026-11-26T09:00:00Z",
  client: "acme",
  sku: "S-1",
  sourceSystem: "erp",
  targetSystem: "shop",
  failureMode: "network",
  error: { message: "timeout" },
  attempts: 3,
};

describe("judgeItem", () => {
  it("takes a failure event with its job id, defaults applied and unknown fields kept", () => {
    const judged = judgeItem({ name: "sync.failed", data: { ...event, extra: 1 } }, config, own);
    expect(judged).toMatchObject({
      kind: "failure",
      jobId: failureJobId("e-1"),
      event: { operation: "stock_update", extra: 1 },
    });
  });

  it("takes a delivery whose kind matches its name, and refuses one that does not", () => {
    const started = {
      kind: "sync.started",
      eventId: "d-1",
      client: "acme",
      sku: "S-1",
      sourceSystem: "erp",
      targetSystem: "shop",
      triggeredAt: "2026-11-26T09:00:00Z",
    };
    expect(judgeItem({ name: "sync.started", data: started }, config, own).kind).toBe("delivery");
    expect(judgeItem({ name: "sync.succeeded", data: started }, config, own)).toMatchObject({
      kind: "rejected",
      contract: "delivery",
      problems: [
        { path: "kind", message: 'is "sync.started" but the item\'s name is "sync.succeeded"' },
      ],
    });
  });

  it("takes a delivery with a field the desk does not know, and refuses a version it does not read", () => {
    const succeeded = {
      kind: "sync.succeeded",
      client: "acme",
      sku: "S-1",
      targetSystem: "shop",
      occurredAt: "2026-11-26T09:00:00Z",
      warehouse: "east",
    };
    expect(judgeItem({ name: "sync.succeeded", data: succeeded }, config, own).kind).toBe(
      "delivery",
    );
    expect(
      judgeItem({ name: "sync.succeeded", data: { ...succeeded, schemaVersion: 2 } }, config, own),
    ).toMatchObject({ kind: "rejected", problems: [{ path: "schemaVersion" }] });
  });

  it("rejects what is not an item, an unknown name, missing data, and field by field", () => {
    expect(judgeItem("x", config, own)).toMatchObject({
      kind: "rejected",
      problems: [{ path: "(item)" }],
    });
    expect(judgeItem({ name: "sync.batch", data: {} }, config, own)).toMatchObject({
      problems: [{ path: "name", message: expect.stringContaining('(was "sync.batch")') }],
    });
    expect(judgeItem({ name: "sync.failed" }, config, own)).toMatchObject({
      problems: [{ path: "data" }],
    });
    const { client: _c, ...noClient } = event;
    expect(judgeItem({ name: "sync.failed", data: noClient }, config, own)).toMatchObject({
      kind: "rejected",
      eventId: "e-1",
      problems: [{ path: "client", message: "is required" }],
    });
  });

  it("refuses a retry target off the allow-list or naming the desk's own queues", () => {
    const retry = (queue: string) =>
      judgeItem(
        { name: "sync.failed", data: { ...event, retry: { queue, name: "n", data: {} } } },
        config,
        own,
      );
    expect(retry("storefront-sync").kind).toBe("failure");
    expect(retry("inventory-sync-failures")).toMatchObject({ problems: [{ path: "retry.queue" }] });
    expect(retry("someone-else")).toMatchObject({ problems: [{ path: "retry.queue" }] });
  });
});

describe("batchShapeProblem", () => {
  it("wants { events: [1..500 items] }", () => {
    expect(batchShapeProblem({ events: [{}] })).toBeNull();
    expect(batchShapeProblem([])?.code).toBe("invalid_body");
    expect(batchShapeProblem({ events: {} })?.code).toBe("invalid_body");
    expect(batchShapeProblem({ events: [] })?.code).toBe("invalid_body");
    expect(batchShapeProblem({ events: new Array(MAX_HTTP_EVENTS + 1).fill({}) })?.code).toBe(
      "too_many_events",
    );
  });
});

describe("bearerToken", () => {
  it("reads a producer token and refuses anything else", () => {
    const token = newProducerToken();
    expect(bearerToken(`Bearer ${token}`)).toEqual({ ok: true, token });
    expect(bearerToken(`bearer ${token}`)).toEqual({ ok: true, token });
    expect(bearerToken(undefined)).toEqual({ ok: false, reason: "missing_token" });
    expect(bearerToken("Basic abc")).toEqual({ ok: false, reason: "malformed_token" });
    expect(bearerToken(`Bearer ${token}x`)).toEqual({ ok: false, reason: "malformed_token" });
    expect(tokenSha256(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(newProducerToken()).not.toBe(token);
  });
});
