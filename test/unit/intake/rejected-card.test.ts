import { describe, expect, it } from "vitest";
import { blockKitViolations } from "../../../dev/slack/block-kit-limits.js";
import { type RejectedRow, renderRejectedCard } from "../../../src/intake/rejected.js";

const AT = new Date("2026-11-26T09:00:00Z");

function rejected(overrides: Partial<RejectedRow> = {}): RejectedRow {
  return {
    id: 3,
    sourceJobId: "12",
    eventId: "evt-9",
    rawText: '{"eventId":"evt-9"}',
    errors: [
      { path: "sku", message: "is required" },
      { path: "(event)", message: 'has an unknown field "surprise"' },
    ],
    receivedAt: AT,
    channel: "C0FULFILL",
    cardTs: null,
    reviewedBy: null,
    reviewedAt: null,
    ...overrides,
  } as RejectedRow;
}

const texts = (card: { blocks: object[] }) => JSON.stringify(card.blocks);
const sectionTexts = (card: { blocks: object[] }) =>
  (card.blocks as { type: string; text?: { text: string } }[])
    .filter((b) => b.type === "section")
    .map((b) => b.text?.text ?? "");

describe("renderRejectedCard", () => {
  it("names the event and lists what was wrong, field by field, with a Mark reviewed button", () => {
    const card = renderRejectedCard(rejected());
    const [headline, problems] = sectionTexts(card);
    expect(headline).toContain("*Rejected event* `evt-9`");
    expect(headline).toContain("failure-event contract");
    expect(problems).toBe(
      '*What was wrong*\n• `sku` is required\n• `(event)` has an unknown field "surprise"',
    );
    expect(texts(card)).toContain('"action_id":"rejected.review"');
    expect(card.text).toBe("Rejected event evt-9: 2 problem(s)");
  });

  it("says which contract an outcome broke", () => {
    const card = renderRejectedCard(rejected({ sourceJobId: "outcome-7", eventId: null }));
    expect(sectionTexts(card)[0]).toContain("*Rejected sync outcome*");
    expect(sectionTexts(card)[0]).toContain("nothing was resolved");
  });

  it("escapes what the producer sent", () => {
    const card = renderRejectedCard(
      rejected({
        eventId: "<!channel>",
        errors: [{ path: "<@U123>", message: "<https://evil|x>" }],
        rawText: '{"eventId":"<!channel>"}',
      }),
    );
    for (const text of [...sectionTexts(card), texts(card)]) {
      expect(text).not.toMatch(/<!channel>|<@U123>|<https:\/\/evil/);
    }
  });

  it("keeps whole lines within the section limit and says how many more there were", () => {
    const errors = Array.from({ length: 40 }, (_, i) => ({
      path: `field_${i}_${"&".repeat(150)}`,
      message: "&".repeat(300),
    }));
    const card = renderRejectedCard(rejected({ errors }));
    const problems = sectionTexts(card)[1] ?? "";
    expect(problems.length).toBeLessThanOrEqual(3000);
    expect(problems).toMatch(/…and \d+ more$/);
    expect(problems).not.toMatch(/&[a-z]{0,3}\n|&[a-z]{0,3}$/);
    expect(blockKitViolations(card, "message")).toEqual([]);
  });

  it("shows who reviewed it, instead of the button", () => {
    const card = renderRejectedCard(rejected({ reviewedBy: "U0BOB", reviewedAt: AT }));
    expect(texts(card)).toContain("Reviewed by <@U0BOB>");
    expect(texts(card)).not.toContain("rejected.review");
  });
});
