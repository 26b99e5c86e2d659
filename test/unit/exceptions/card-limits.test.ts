/** renderCard: untrusted text escaped, Slack's limits kept, and the source of truth shown. */
import { describe, expect, it } from "vitest";
import { blockKitViolations } from "../../../dev/slack/block-kit-limits.js";
import { type ExceptionRow, renderCard, statusLines } from "../../../src/exceptions/card.js";
import { AT, allText, blocksOf, mrkdwnTexts, RETRY, row } from "./card-fixtures.js";

describe("renderCard: untrusted text", () => {
  const hostile = row(
    { claimedBy: "<!here>", state: "claimed", vertical: "<!everyone>" },
    {
      client: "<@U123>",
      sku: "<!channel>",
      targetSystem: "<https://evil.example|click>",
      sourceSystem: "a & b",
      vertical: "<!everyone>",
      operation: "<!subteam^S1>",
      error: { message: "boom <!channel> & <@U123>", code: "<!here>" },
      traceId: "<https://evil|x>",
    },
  );
  const card = renderCard(hostile);

  it("never lets a SKU, client, target or error ping anyone or link anywhere", () => {
    for (const text of mrkdwnTexts(card)) {
      expect(text).not.toMatch(/<!channel>|<!here>|<!everyone>|<@U123>|<https:\/\/evil|<!subteam/);
    }
    const text = allText(card);
    expect(text).toContain("&lt;!channel&gt;");
    expect(text).toContain("&lt;@U123&gt;");
    expect(text).toContain("&lt;https://evil.example|click&gt;");
    expect(text).toContain("a &amp; b");
  });

  it("keeps the header readable: plain_text is not parsed, so nothing to escape", () => {
    expect(blocksOf(card)[0]?.text).toEqual({
      type: "plain_text",
      text: "EX-7 · NORMAL · <@U123> · <!channel>",
      emoji: true,
    });
  });

  it("does not turn a malformed owner id into a mention", () => {
    expect(statusLines(hostile)[0]).toContain("*Claimed* by &lt;!here&gt;");
  });
});

describe("renderCard: Slack's limits", () => {
  it("cuts a huge error to fit and keeps the code block closed", () => {
    const card = renderCard(row({}, { error: { message: "x".repeat(10_000) } }));
    const error = mrkdwnTexts(card).find((t) => t.startsWith("*Error*")) ?? "";
    expect(error.length).toBeLessThanOrEqual(3000);
    expect(error.endsWith("…```")).toBe(true);
    expect(blockKitViolations(card, "message")).toEqual([]);
  });

  it("does not let backticks or entities push the error past the limit", () => {
    for (const message of ["`".repeat(10_000), "&".repeat(10_000), "<>".repeat(5_000)]) {
      const card = renderCard(row({}, { error: { message, code: "c".repeat(200) } }));
      const error = mrkdwnTexts(card).find((t) => t.startsWith("*Error*")) ?? "";
      expect(error.length).toBeLessThanOrEqual(3000);
      expect(error.slice(error.indexOf("```") + 3, -3)).not.toContain("```");
      expect(error).not.toMatch(/&[a-z]{0,3}…/);
      expect(blockKitViolations(card, "message")).toEqual([]);
    }
  });

  it("stays within every limit at the contract's maximum sizes, in every state", () => {
    const longest = {
      eventId: "e".repeat(200),
      client: "c".repeat(100),
      vertical: "v".repeat(100),
      sku: "<".repeat(200),
      sourceSystem: "&".repeat(100),
      targetSystem: ">".repeat(100),
      operation: "o".repeat(100),
      error: { message: "&".repeat(10_000), code: "&".repeat(200), httpStatus: 599 },
      traceId: "t".repeat(200),
      quantity: { expected: -1.5e300, observed: 1.5e300 },
      links: Array.from({ length: 10 }, () => ({
        label: "&".repeat(100),
        url: `https://x.example/${"&".repeat(1980)}`,
      })),
      retry: RETRY,
    };
    const states: Partial<ExceptionRow>[] = [
      {},
      { state: "claimed", claimedBy: "U0ALICE", lastRetryError: "&".repeat(2000), retryCount: 3 },
      { state: "retrying", claimedBy: "U0ALICE", retryCount: 99, retryRequestedBy: "U0BOB" },
      {
        state: "resolved",
        resolution: "manual",
        resolvedBy: "U0MGR",
        resolvedAt: AT,
        rootCause: "other",
        resolutionNote: "&".repeat(2000),
        reopenOf: 1,
      },
      { state: "resolved", resolution: "retry", retryRequestedBy: "U0BOB", resolvedAt: AT },
      { state: "resolved", resolution: "recovered", resolvedAt: AT },
    ];
    for (const state of states) {
      const card = renderCard(
        row({ ...state, vertical: longest.vertical, occurrences: 2_000_000_000 }, longest),
        { context: ["&".repeat(5000)] },
      );
      expect(blockKitViolations(card, "message"), JSON.stringify(state)).toEqual([]);
      expect(card.text.length).toBeLessThanOrEqual(3000);
    }
  });
});

describe("renderCard: source of truth", () => {
  it("shows the source of truth for the card's target, and no warning when the event came from it", () => {
    const card = renderCard(row(), { sourceOfTruth: "erp.netsuite" });
    const text = allText(card);
    expect(text).toContain("erp.netsuite → storefront.shopify\nsource of truth: erp.netsuite");
    expect(text).not.toContain("not the source of truth");
    expect(blockKitViolations(card, "message")).toEqual([]);
  });

  it("flags an event whose source system is not the source of truth, escaped", () => {
    const card = renderCard(row({ sourceSystem: "pim.<akeneo>" }), {
      sourceOfTruth: "erp.netsuite",
    });
    expect(allText(card)).toContain(
      ":warning: Came from pim.&lt;akeneo&gt;, not the source of truth for storefront.shopify (erp.netsuite)",
    );
  });

  it("says none is declared when the routing names none, and says nothing when not asked", () => {
    expect(allText(renderCard(row(), { sourceOfTruth: null }))).toContain(
      "source of truth: none declared",
    );
    expect(allText(renderCard(row()))).not.toContain("source of truth");
  });
});
