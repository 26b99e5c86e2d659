import { describe, expect, it } from "vitest";
import { blockKitViolations } from "../../../dev/slack/block-kit-limits.js";

const plain = (text: string) => ({ type: "plain_text", text });
const mrkdwn = (text: string) => ({ type: "mrkdwn", text });
const section = (text: string, extra: Record<string, unknown> = {}) => ({
  type: "section",
  text: mrkdwn(text),
  ...extra,
});
const button = (actionId: string, extra: Record<string, unknown> = {}) => ({
  type: "button",
  action_id: actionId,
  text: plain("Retry"),
  value: "v",
  ...extra,
});
const many = <T>(n: number, make: (i: number) => T): T[] =>
  Array.from({ length: n }, (_, i) => make(i));

describe("blockKitViolations", () => {
  it("accepts a card at every limit", () => {
    const blocks = [
      { type: "header", text: plain("h".repeat(150)) },
      section("s".repeat(3000), { accessory: button("more") }),
      { type: "section", fields: many(10, () => mrkdwn("f".repeat(2000))) },
      { type: "context", elements: many(10, () => mrkdwn("c")) },
      {
        type: "actions",
        block_id: "b".repeat(255),
        elements: many(25, (i) =>
          button(i === 0 ? "a".repeat(255) : `act-${i}`, {
            text: plain("t".repeat(75)),
            value: "v".repeat(2000),
          }),
        ),
      },
      ...many(45, (i) => ({ type: "divider", block_id: `d${i}` })),
    ];
    expect(blocks).toHaveLength(50);
    expect(blockKitViolations({ text: "x".repeat(40_000), blocks }, "message")).toEqual([]);
  });

  it.each([
    [
      "51 blocks in a message",
      { text: "t", blocks: many(51, () => ({ type: "divider" })) },
      "51 blocks",
    ],
    [
      "section text over 3000",
      { text: "t", blocks: [section("s".repeat(3001))] },
      "3001 chars, limit 3000",
    ],
    [
      "11 section fields",
      { text: "t", blocks: [{ type: "section", fields: many(11, () => mrkdwn("f")) }] },
      "11 fields",
    ],
    [
      "a section field over 2000",
      { text: "t", blocks: [{ type: "section", fields: [mrkdwn("f".repeat(2001))] }] },
      "fields[0] is 2001 chars",
    ],
    [
      "a section with neither text nor fields",
      { text: "t", blocks: [{ type: "section" }] },
      "needs text or fields",
    ],
    [
      "header over 150",
      { text: "t", blocks: [{ type: "header", text: plain("h".repeat(151)) }] },
      "151 chars, limit 150",
    ],
    [
      "mrkdwn header",
      { text: "t", blocks: [{ type: "header", text: mrkdwn("h") }] },
      "must be plain_text",
    ],
    [
      "11 context elements",
      { text: "t", blocks: [{ type: "context", elements: many(11, () => mrkdwn("c")) }] },
      "11 elements, limit 10",
    ],
    [
      "26 buttons in an actions block",
      { text: "t", blocks: [{ type: "actions", elements: many(26, (i) => button(`a${i}`)) }] },
      "26 elements, limit 25",
    ],
    [
      "button text over 75",
      {
        text: "t",
        blocks: [{ type: "actions", elements: [button("a", { text: plain("t".repeat(76)) })] }],
      },
      "button text is 76 chars",
    ],
    [
      "mrkdwn button text",
      { text: "t", blocks: [{ type: "actions", elements: [button("a", { text: mrkdwn("t") })] }] },
      "button text must be plain_text",
    ],
    [
      "button value over 2000",
      {
        text: "t",
        blocks: [{ type: "actions", elements: [button("a", { value: "v".repeat(2001) })] }],
      },
      "button value is 2001 chars",
    ],
    [
      "action_id over 255",
      { text: "t", blocks: [{ type: "actions", elements: [button("a".repeat(256))] }] },
      "action_id is 256 chars",
    ],
    [
      "accessory button value over 2000",
      {
        text: "t",
        blocks: [section("s", { accessory: button("a", { value: "v".repeat(2001) }) })],
      },
      "button value is 2001 chars",
    ],
    [
      "block_id over 255",
      { text: "t", blocks: [{ type: "divider", block_id: "b".repeat(256) }] },
      "block_id is 256 chars",
    ],
    [
      "duplicate action_id in one block",
      { text: "t", blocks: [{ type: "actions", elements: [button("same"), button("same")] }] },
      'duplicate action_id "same"',
    ],
    [
      "duplicate block_id",
      {
        text: "t",
        blocks: [
          { type: "divider", block_id: "x" },
          { type: "divider", block_id: "x" },
        ],
      },
      "duplicate block_id",
    ],
    ["blocks without text fallback", { blocks: [section("s")] }, "text fallback"],
    ["blank text fallback", { text: "  ", blocks: [section("s")] }, "text fallback"],
    ["text over 40000", { text: "x".repeat(40_001) }, "40001 chars, limit 40000"],
    ["a block without type", { text: "t", blocks: [{}] }, "not a block"],
  ])("flags %s", (_name, payload, expected) => {
    const problems = blockKitViolations(payload, "message");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(expected);
  });

  it("checks a button's confirmation dialog: every part there, plain_text labels, limits", () => {
    const confirm = (over: Record<string, unknown> = {}) => ({
      title: plain("t".repeat(100)),
      text: plain("x".repeat(300)),
      confirm: plain("c".repeat(30)),
      deny: plain("Cancel"),
      ...over,
    });
    const check = (dialog: unknown) =>
      blockKitViolations(
        { text: "t", blocks: [{ type: "actions", elements: [button("go", { confirm: dialog })] }] },
        "message",
      );
    expect(check(confirm())).toEqual([]);
    expect(check(confirm({ title: plain("t".repeat(101)) }))).toEqual([
      expect.stringContaining("confirm.title: 101 chars, limit 100"),
    ]);
    expect(check(confirm({ text: plain("x".repeat(301)) }))).toEqual([
      expect.stringContaining("confirm.text: 301 chars, limit 300"),
    ]);
    expect(check(confirm({ confirm: mrkdwn("Yes") }))).toEqual([
      expect.stringContaining("confirm.confirm: must be plain_text"),
    ]);
    expect(check(confirm({ deny: undefined }))).toEqual([
      expect.stringContaining("confirm.deny: missing text object"),
    ]);
  });

  it("allows the same action_id in different blocks", () => {
    const blocks = [
      { type: "actions", elements: [button("retry")] },
      { type: "actions", elements: [button("retry")] },
    ];
    expect(blockKitViolations({ text: "t", blocks }, "message")).toEqual([]);
  });

  it("names the block that breaks a limit", () => {
    const blocks = [{ type: "divider" }, section("s".repeat(3001), { block_id: "summary" })];
    expect(blockKitViolations({ text: "t", blocks }, "message")).toEqual([
      'blocks[1] (section "summary"): text is 3001 chars, limit 3000',
    ]);
  });

  it("allows 100 blocks in a modal or Home tab, not 101, and needs no text fallback there", () => {
    const hundred = many(100, () => section("s"));
    const modal = { title: plain("Snooze"), blocks: hundred };
    expect(blockKitViolations(modal, "modal")).toEqual([]);
    expect(blockKitViolations({ blocks: hundred }, "home")).toEqual([]);
    expect(blockKitViolations({ blocks: [...hundred, section("s")] }, "home")).toEqual([
      "101 blocks, limit 100 per home",
    ]);
    expect(blockKitViolations({ blocks: hundred }, "message")).toContain(
      "100 blocks, limit 50 per message",
    );
  });

  it("checks modal title, submit and close: plain_text, at most 24 chars", () => {
    expect(blockKitViolations({ title: plain("t".repeat(24)), blocks: [] }, "modal")).toEqual([]);
    expect(blockKitViolations({ title: plain("t".repeat(25)), blocks: [] }, "modal")).toEqual([
      "modal title is 25 chars, limit 24",
    ]);
    expect(
      blockKitViolations({ title: plain("ok"), submit: plain("s".repeat(25)) }, "modal"),
    ).toEqual(["modal submit is 25 chars, limit 24"]);
    expect(blockKitViolations({ title: mrkdwn("ok") }, "modal")).toEqual([
      "modal title must be a plain_text object",
    ]);
    expect(blockKitViolations({ blocks: [] }, "modal")).toEqual(["modal without a title"]);
  });

  it("checks input block elements", () => {
    const input = {
      type: "input",
      label: plain("Reason"),
      element: { type: "plain_text_input", action_id: "r".repeat(256) },
    };
    expect(blockKitViolations({ title: plain("x"), blocks: [input] }, "modal")).toEqual([
      "blocks[0] (input) element 0: action_id is 256 chars, limit 255",
    ]);
  });

  it("requires section fields and context elements to be text objects, as Slack does", () => {
    const blocks = [
      { type: "section", fields: ["*Client*\nacme", mrkdwn("ok")] },
      { type: "context", elements: ["bare", mrkdwn("ok"), { type: "image", image_url: "u" }] },
    ];
    expect(blockKitViolations({ text: "t", blocks }, "message")).toEqual([
      "blocks[0] (section): fields[0] must be a mrkdwn or plain_text object",
      "blocks[1] (context): elements[0] must be a text or image element",
    ]);
  });

  it("rejects blocks that are not an array", () => {
    expect(blockKitViolations({ text: "t", blocks: "[]" }, "message")).toEqual([
      "blocks must be an array",
    ]);
  });
});
