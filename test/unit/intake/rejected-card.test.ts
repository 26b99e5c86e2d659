import { describe, expect, it } from "vitest";
import { blockKitViolations } from "../../../dev/slack/block-kit-limits.js";
import {
  type RejectionGroupView,
  renderRejectionGroupCard,
} from "../../../src/intake/rejection-card.js";
import { problemKey, problemLines } from "../../../src/intake/rejection-groups.js";

const AT = new Date("2026-11-26T09:00:00Z");
const PROBLEMS = [
  { path: "sku", message: "is required" },
  { path: "(event)", message: 'has an unknown field "surprise"' },
];

function group(overrides: Partial<RejectionGroupView> = {}): RejectionGroupView {
  return {
    id: 3,
    kind: "failure",
    producer: "shopify-connector",
    role: "fulfillment",
    count: 1000,
    firstSeenAt: AT,
    lastSeenAt: AT,
    sample: '{"eventId":"evt-9"}',
    details: problemLines(PROBLEMS),
    reviewedBy: null,
    reviewedAt: null,
    ...overrides,
  };
}

const texts = (card: { blocks: object[] }) => JSON.stringify(card.blocks);
const sectionTexts = (card: { blocks: object[] }) =>
  (card.blocks as { type: string; text?: { text: string } }[])
    .filter((b) => b.type === "section")
    .map((b) => b.text?.text ?? "");

describe("renderRejectionGroupCard", () => {
  it("counts the group's events, names the producer and lists what was wrong, with a Mark reviewed button", () => {
    const card = renderRejectionGroupCard(group());
    const [headline, problems] = sectionTexts(card);
    expect(headline).toContain("*1000 events rejected* from `shopify-connector`");
    expect(headline).toContain("they do not match the failure-event contract");
    expect(headline).toContain("Each is stored as received.");
    expect(problems).toBe(
      '*What was wrong*\n• `sku` is required\n• `(event)` has an unknown field "surprise"',
    );
    expect(texts(card)).toContain('"action_id":"rejections.review"');
    expect(card.text).toBe("1000 events rejected from shopify-connector: `sku` is required");
  });

  it("links the contract docs and the JSON Schema when CONTRACT_DOCS_URL is set, else names the files", () => {
    const linked = texts(
      renderRejectionGroupCard(group(), "https://git.example/syncdesk/blob/main"),
    );
    expect(linked).toContain(
      "<https://git.example/syncdesk/blob/main/README.md#the-event-contract-for-producers|the event contract>",
    );
    expect(linked).toContain(
      "<https://git.example/syncdesk/blob/main/contract/failure-event.v1.schema.json|JSON Schema>",
    );
    const named = texts(renderRejectionGroupCard(group()));
    expect(named).toContain("`contract/failure-event.v1.schema.json`");
  });

  it("says which contract an outcome or a delivery broke", () => {
    const outcome = sectionTexts(renderRejectionGroupCard(group({ kind: "outcome", count: 1 })));
    expect(outcome[0]).toContain("*1 event rejected*");
    expect(outcome[0]).toContain(": it does not match");
    expect(outcome[0]).toContain("It is stored as received.");
    expect(outcome[0]).toContain("nothing was resolved");
    const delivery = sectionTexts(renderRejectionGroupCard(group({ kind: "delivery" })));
    expect(delivery[0]).toContain("delivery contract");
  });

  it("escapes what the producer sent", () => {
    const card = renderRejectionGroupCard(
      group({
        producer: "<!channel>",
        details: problemLines([{ path: "<@U123>", message: "<https://evil|x>" }]),
        sample: '{"eventId":"<!channel>"}',
      }),
    );
    for (const text of [...sectionTexts(card), texts(card), card.text]) {
      expect(text).not.toMatch(/<!channel>|<@U123>|<https:\/\/evil/);
    }
  });

  it("keeps whole lines within the section limit and says how many more there were", () => {
    const problems = Array.from({ length: 40 }, (_, i) => ({
      path: `field_${i}_${"&".repeat(150)}`,
      message: "&".repeat(300),
    }));
    const card = renderRejectionGroupCard(group({ details: problemLines(problems) }));
    const lines = sectionTexts(card)[1] ?? "";
    expect(lines.length).toBeLessThanOrEqual(3000);
    expect(lines).toMatch(/…and \d+ more$/);
    expect(lines).not.toMatch(/&[a-z]{0,3}\n|&[a-z]{0,3}$/);
    expect(blockKitViolations(card, "message")).toEqual([]);
  });

  it("shows who reviewed it, instead of the button", () => {
    const card = renderRejectionGroupCard(group({ reviewedBy: "U0BOB", reviewedAt: AT }));
    expect(texts(card)).toContain("Reviewed by <@U0BOB>");
    expect(texts(card)).not.toContain("rejections.review");
  });
});

describe("problemKey", () => {
  it("is the same for the same problems in any order, and leaves values out", () => {
    expect(problemKey(PROBLEMS)).toBe(problemKey([...PROBLEMS].reverse()));
    expect(problemKey(PROBLEMS)).toBe('(event): has an unknown field "surprise"; sku: is required');
  });
});
