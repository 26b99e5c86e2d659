import { describe, expect, it } from "vitest";
import { z } from "zod";
import { check, claimedEventId, rawText, storableText } from "../../../src/intake/validation.js";

const schema = z.object({ text: z.string() });

describe("check", () => {
  it("refuses a real NUL but not the text \\u0000", () => {
    expect(check(schema, { text: "a\u0000b" }).ok).toBe(false);
    expect(check(schema, { text: String.raw`a\u0000b` })).toEqual({
      ok: true,
      value: { text: String.raw`a\u0000b` },
    });
    expect(check(schema, { text: String.raw`a\\u0000b` }).ok).toBe(true);
  });

  it("repairs lone surrogates and keeps surrogate pairs", () => {
    expect(check(schema, { text: "cut 💥".slice(0, -1) })).toEqual({
      ok: true,
      value: { text: "cut \ufffd" },
    });
    expect(check(schema, { text: "\udc00\ud800x" })).toEqual({
      ok: true,
      value: { text: "\ufffd\ufffdx" },
    });
    expect(check(schema, { text: "ok 💥" })).toEqual({ ok: true, value: { text: "ok 💥" } });
    expect(check(schema, { text: String.raw`\ud800 as text` })).toEqual({
      ok: true,
      value: { text: String.raw`\ud800 as text` },
    });
  });

  it("reports values that are not JSON or too large", () => {
    expect(check(schema, 10n)).toEqual({
      ok: false,
      problems: [{ path: "(event)", message: "is not JSON" }],
    });
    const big = check(schema, { text: "x".repeat(300 * 1024) });
    expect(big.ok).toBe(false);
  });

  it("gives problem paths Postgres can store", () => {
    const result = check(z.strictObject({}), { "\ud800\udc00\udc00\ud800": 1 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.problems.map((p) => `${p.path} ${p.message}`).join(" ");
    expect(text).toContain("\ufffd\ufffd");
    expect(text).toBe(storableText(text));
  });
});

describe("rejected-event helpers", () => {
  it("stores any value as text", () => {
    expect(rawText(Object.create(null))).toBe("{}");
    expect(rawText(Object.assign(Object.create(null), { a: 1n }))).toBe("[object Object]");
    expect(rawText(undefined)).toBe("undefined");
    expect(rawText("x".repeat(100), 10)).toBe('"xxxxxxxxx… (92 more characters)');
  });

  it("keeps a claimed eventId storable", () => {
    expect(claimedEventId({ eventId: "a\u0000\ud800" })).toBe("a\ufffd\ufffd");
    expect(claimedEventId({ eventId: 5 })).toBeNull();
    expect(storableText("fine")).toBe("fine");
  });
});
