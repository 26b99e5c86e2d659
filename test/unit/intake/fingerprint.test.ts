import { describe, expect, it } from "vitest";
import { fingerprint } from "../../../src/intake/fingerprint.js";

const base = {
  client: "globex",
  sku: "SKU-1",
  targetSystem: "storefront.shopify",
  failureMode: "partial_write" as const,
};

describe("fingerprint", () => {
  it("is a fixed-size hex key, the same for the same failure", () => {
    expect(fingerprint(base)).toMatch(/^[0-9a-f]{32}$/);
    expect(fingerprint({ ...base })).toBe(fingerprint(base));
  });

  it.each([
    ["client", { client: "acme" }],
    ["sku", { sku: "SKU-2" }],
    ["targetSystem", { targetSystem: "ads.google-merchant" }],
    ["failureMode", { failureMode: "throttled" as const }],
  ])("changes when %s changes", (_field, change) => {
    expect(fingerprint({ ...base, ...change })).not.toBe(fingerprint(base));
  });

  it("ignores everything else an event carries (error, time, source, eventId)", () => {
    const event: Parameters<typeof fingerprint>[0] & Record<string, unknown> = {
      ...base,
      eventId: "evt-1",
      occurredAt: "2026-11-26T09:00:00Z",
      sourceSystem: "erp.netsuite",
      error: { message: "a" },
      attempts: 3,
    };
    expect(fingerprint(event)).toBe(fingerprint(base));
    const other: typeof event = { ...event, eventId: "evt-2", error: { message: "b" } };
    expect(fingerprint(other)).toBe(fingerprint(base));
  });

  it("cannot be confused by a separator inside a field", () => {
    expect(fingerprint({ ...base, client: "a|b", sku: "c" })).not.toBe(
      fingerprint({ ...base, client: "a", sku: "b|c" }),
    );
    expect(fingerprint({ ...base, client: 'a","b', sku: "c" })).not.toBe(
      fingerprint({ ...base, client: "a", sku: 'b","c' }),
    );
  });

  it("is case-sensitive, as SKUs are", () => {
    expect(fingerprint({ ...base, sku: "sku-1" })).not.toBe(fingerprint(base));
  });
});
