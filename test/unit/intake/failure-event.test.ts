/**
 * The failure-event contract as producers meet it: every field, and every way an event is
 * refused, through `check()` (what the intake worker runs before anything is stored).
 */
import { describe, expect, it } from "vitest";
import {
  FAILURE_MODES,
  type FailureEventInput,
  failureEventSchema,
  failureJobId,
} from "../../../src/intake/failure-event.schema.js";
import { check, MAX_EVENT_BYTES, type Problem } from "../../../src/intake/validation.js";

const minimal: FailureEventInput = {
  eventId: "evt-1",
  occurredAt: "2026-11-26T09:00:00Z",
  client: "globex",
  sku: "SKU-1",
  sourceSystem: "erp.netsuite",
  targetSystem: "storefront.shopify",
  failureMode: "partial_write",
  error: { message: "Shopify accepted 40 of 41 variants" },
  attempts: 5,
};

const full: FailureEventInput = {
  ...minimal,
  vertical: "apparel",
  operation: "price_update",
  error: { message: "boom", code: "E42", httpStatus: 503 },
  quantity: { expected: 41, observed: 40 },
  traceId: "trace-1",
  links: [
    { label: "Run", url: "https://pipelines.example.com/runs/1" },
    { label: "Plain http", url: "http://intranet.example/x" },
  ],
  retry: { queue: "storefront-sync", name: "sync.sku", data: { sku: "SKU-1", nested: [1] } },
};

function problems(data: unknown): Problem[] {
  const checked = check(failureEventSchema, data);
  if (checked.ok) throw new Error(`expected a rejection of ${JSON.stringify(data)}`);
  return checked.problems;
}

/** The fields named, each once (a field may break more than one rule). */
const paths = (data: unknown) => [...new Set(problems(data).map((p) => p.path))];

function without(key: keyof FailureEventInput): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...minimal };
  delete copy[key];
  return copy;
}

describe("accepted events", () => {
  it("takes the minimal event and defaults operation to stock_update", () => {
    const checked = check(failureEventSchema, minimal);
    expect(checked).toEqual({ ok: true, value: { ...minimal, operation: "stock_update" } });
  });

  it("keeps every optional field as sent", () => {
    expect(check(failureEventSchema, full)).toEqual({ ok: true, value: full });
  });

  it.each(FAILURE_MODES)("accepts failureMode %s", (failureMode) => {
    expect(check(failureEventSchema, { ...minimal, failureMode }).ok).toBe(true);
  });

  it.each([
    "2026-11-26T09:00:00Z",
    "2026-11-26T09:00:00.123Z",
    "2026-11-26T10:00:00+01:00",
    "2026-11-26T04:00:00-05:00",
  ])("accepts occurredAt %s", (occurredAt) => {
    expect(check(failureEventSchema, { ...minimal, occurredAt }).ok).toBe(true);
  });

  it("accepts zero attempts, an empty error message and an empty retry payload", () => {
    const event = {
      ...minimal,
      attempts: 0,
      error: { message: "" },
      retry: { queue: "q", name: "n", data: {} },
    };
    expect(check(failureEventSchema, event).ok).toBe(true);
  });

  it("accepts an error message that quotes a \\u0000 escape as text", () => {
    expect(
      check(failureEventSchema, { ...minimal, error: { message: 'body was "\\u0000"' } }).ok,
    ).toBe(true);
  });
});

describe("rejected events", () => {
  it.each([
    "eventId",
    "occurredAt",
    "client",
    "sku",
    "sourceSystem",
    "targetSystem",
    "failureMode",
    "error",
    "attempts",
  ] as const)("names a missing %s", (field) => {
    expect(paths(without(field))).toEqual([field]);
  });

  it("names every missing field at once", () => {
    expect(paths({}).sort()).toEqual(
      [
        "attempts",
        "client",
        "error",
        "eventId",
        "failureMode",
        "occurredAt",
        "sku",
        "sourceSystem",
        "targetSystem",
      ].sort(),
    );
  });

  it.each([
    ["eventId", { eventId: 42 }],
    ["client", { client: ["globex"] }],
    ["sku", { sku: null }],
    ["attempts", { attempts: "5" }],
    ["attempts", { attempts: 1.5 }],
    ["error", { error: "boom" }],
    ["error.message", { error: { message: 500 } }],
    ["error.httpStatus", { error: { message: "x", httpStatus: "503" } }],
    ["quantity.expected", { quantity: { expected: "41" } }],
    ["links", { links: "https://x.example" }],
    ["retry.data", { retry: { queue: "q", name: "n", data: [1] } }],
    ["retry.name", { retry: { queue: "q", data: {} } }],
  ])("names %s when its type is wrong", (path, change) => {
    expect(paths({ ...minimal, ...change })).toEqual([path]);
  });

  it.each(["exploded", "THROTTLED", "", null])("refuses failureMode %j", (failureMode) => {
    const [problem] = problems({ ...minimal, failureMode });
    expect(problem?.path).toBe("failureMode");
  });

  it.each([
    ["not a date", "yesterday"],
    ["a date without a time", "2026-11-26"],
    ["a time without an offset", "2026-11-26T09:00:00"],
    ["a Unix timestamp", "1795683600"],
    ["an impossible date", "2026-02-31T09:00:00Z"],
  ])("refuses occurredAt that is %s", (_what, occurredAt) => {
    expect(paths({ ...minimal, occurredAt })).toEqual(["occurredAt"]);
  });

  it("refuses negative attempts and an HTTP status outside 100-599", () => {
    expect(paths({ ...minimal, attempts: -1 })).toEqual(["attempts"]);
    expect(paths({ ...minimal, error: { message: "x", httpStatus: 99 } })).toEqual([
      "error.httpStatus",
    ]);
    expect(paths({ ...minimal, error: { message: "x", httpStatus: 600 } })).toEqual([
      "error.httpStatus",
    ]);
  });

  it.each([
    "ftp://files.example/x",
    "javascript:alert(1)",
    "/relative/path",
    "mailto:ops@example.com",
    "not a url",
  ])("refuses a link to %s", (url) => {
    const [problem] = problems({ ...minimal, links: [{ label: "x", url }] });
    expect(problem).toEqual({ path: "links.0.url", message: "must be an http or https URL" });
  });

  it("refuses a retry queue name that BullMQ cannot use", () => {
    expect(
      problems({ ...minimal, retry: { queue: "storefront:sync", name: "n", data: {} } }),
    ).toEqual([{ path: "retry.queue", message: "must not contain ':'" }]);
  });

  it("refuses more than ten links and a link without a label", () => {
    const link = { label: "x", url: "https://x.example" };
    expect(paths({ ...minimal, links: Array(11).fill(link) })).toEqual(["links"]);
    expect(paths({ ...minimal, links: [{ ...link, label: "  " }] })).toEqual(["links.0.label"]);
  });

  it.each(["eventId", "client", "sku", "sourceSystem", "targetSystem"] as const)(
    "refuses a blank %s",
    (field) => {
      expect(problems({ ...minimal, [field]: "   " })).toEqual([
        { path: field, message: "must not be empty" },
      ]);
    },
  );

  it("refuses fields longer than the contract allows", () => {
    expect(paths({ ...minimal, sku: "s".repeat(201) })).toEqual(["sku"]);
    expect(paths({ ...minimal, client: "c".repeat(101) })).toEqual(["client"]);
    expect(paths({ ...minimal, error: { message: "m".repeat(10_001) } })).toEqual([
      "error.message",
    ]);
  });

  it("keeps fields it does not know, at the top and inside objects, and rejects nothing for them", () => {
    const sent = {
      ...full,
      surprise: 1,
      error: { ...full.error, extra: true },
      links: [{ label: "x", url: "https://x.example", target: "_blank" }],
      quantity: { expected: 1, delta: 2 },
      retry: { queue: "q", name: "n", data: {}, delay: 5 },
    };
    const checked = check(failureEventSchema, sent);
    expect(checked.ok).toBe(true);
    const parsed = failureEventSchema.parse(sent) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      surprise: 1,
      error: { extra: true },
      links: [{ target: "_blank" }],
      quantity: { delta: 2 },
      retry: { delay: 5 },
    });
  });

  it("reads contract version 1, with or without schemaVersion, and refuses a newer one", () => {
    expect(check(failureEventSchema, { ...full, schemaVersion: 1 }).ok).toBe(true);
    expect(problems({ ...full, schemaVersion: 2 })).toEqual([
      {
        path: "schemaVersion",
        message: "is 2: this desk reads version 1 of the contract (leave it out for 1)",
      },
    ]);
  });

  it("says a missing field is required, rather than what type it was not", () => {
    expect(problems(without("sku"))).toEqual([{ path: "sku", message: "is required" }]);
    expect(problems({ ...minimal, error: {} })).toEqual([
      { path: "error.message", message: "is required" },
    ]);
  });

  it("refuses a NUL character anywhere, values or keys", () => {
    expect(
      problems({ ...minimal, sku: "SKU\u0000" })
        .map((p) => p.message)
        .join(),
    ).toContain("NUL");
    expect(
      problems({ ...minimal, retry: { queue: "q", name: "n", data: { "k\u0000": 1 } } }).length,
    ).toBeGreaterThan(0);
  });

  it("refuses an event over the size limit as a whole", () => {
    const big = {
      ...minimal,
      retry: { queue: "q", name: "n", data: { blob: "x".repeat(MAX_EVENT_BYTES) } },
    };
    expect(problems(big)).toEqual([{ path: "(event)", message: "is larger than 256 KiB" }]);
  });

  it.each([
    ["a string", "evt-1"],
    ["a number", 42],
    ["null", null],
    ["an array", [minimal]],
    ["a boolean", true],
  ])("refuses job data that is %s", (_what, data) => {
    expect(paths(data)).toEqual(["(event)"]);
  });

  it("refuses data that is not JSON at all", () => {
    const cyclic: Record<string, unknown> = { ...minimal };
    cyclic.self = cyclic;
    expect(problems(cyclic)).toEqual([{ path: "(event)", message: "is not JSON" }]);
    expect(paths({ ...minimal, attempts: 10n })).toEqual(["(event)"]);
  });
});

describe("failureJobId", () => {
  it.each(["123", "a:b:c", "evt 1/2", "ünï"])("makes a BullMQ-safe, stable id of %j", (id) => {
    const jobId = failureJobId(id);
    expect(jobId).not.toContain(":");
    expect(jobId).not.toMatch(/^\d+$/);
    expect(failureJobId(id)).toBe(jobId);
  });

  it("keeps different eventIds apart", () => {
    expect(failureJobId("a")).not.toBe(failureJobId("b"));
  });
});
