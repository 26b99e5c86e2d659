import { describe, expect, it } from "vitest";
import {
  escapeMrkdwn,
  mention,
  mrkdwnLink,
  safeText,
  slackDate,
  truncate,
} from "../../../src/platform/slack/mrkdwn.js";

describe("escapeMrkdwn", () => {
  it("escapes the three characters Slack parses", () => {
    expect(escapeMrkdwn("a & b < c > d")).toBe("a &amp; b &lt; c &gt; d");
  });

  it.each([
    ["<!channel>", "&lt;!channel&gt;"],
    ["<!here|here>", "&lt;!here|here&gt;"],
    ["<@U123>", "&lt;@U123&gt;"],
    ["<#C123>", "&lt;#C123&gt;"],
    ["<!subteam^S1>", "&lt;!subteam^S1&gt;"],
    ["<https://evil|click>", "&lt;https://evil|click&gt;"],
    ["&amp;", "&amp;amp;"],
  ])("defuses %s", (input, output) => {
    expect(escapeMrkdwn(input)).toBe(output);
  });

  it("leaves ordinary text, formatting and emoji alone", () => {
    expect(escapeMrkdwn("*bold* _it_ `code` 😀 ünïcode")).toBe("*bold* _it_ `code` 😀 ünïcode");
  });
});

describe("truncate", () => {
  it("leaves text at or under the limit untouched", () => {
    expect(truncate("abc", 3)).toBe("abc");
    expect(truncate("", 0)).toBe("");
  });

  it("cuts to exactly the limit, ending with an ellipsis", () => {
    const cut = truncate("abcdefghij", 5);
    expect(cut).toBe("abcd…");
    expect(cut).toHaveLength(5);
  });

  it("never leaves half of a surrogate pair", () => {
    const cut = truncate("a😀bcd", 3);
    expect(cut).toBe("a…");
    expect(cut).not.toMatch(/[\uD800-\uDBFF]$/);
  });
});

describe("safeText", () => {
  it("escapes, then cuts to the limit", () => {
    expect(safeText("<b>", 100)).toBe("&lt;b&gt;");
    expect(safeText("x".repeat(50), 10)).toHaveLength(10);
  });

  it("never cuts an entity in half", () => {
    for (let max = 2; max < 24; max++) {
      const cut = safeText("&<>&<>&<>&<>", max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut).not.toMatch(/&[a-z]{0,3}…$/);
      // Every & starts a whole entity.
      expect(cut.replace(/&(amp|lt|gt);/g, "")).not.toContain("&");
    }
  });
});

describe("mrkdwnLink", () => {
  it("makes a link whose URL cannot close it or start another", () => {
    expect(mrkdwnLink("https://x.example/a?b=1&c=2", "Run log")).toBe(
      "<https://x.example/a?b=1&amp;c=2|Run log>",
    );
    expect(mrkdwnLink("https://x.example/a|b>c<d", "x")).toBe(
      "<https://x.example/a%7Cb%3Ec%3Cd|x>",
    );
  });

  it("escapes the label and keeps a pipe in it from splitting the link", () => {
    expect(mrkdwnLink("https://x.example", "<!channel> | & more")).toBe(
      "<https://x.example|&lt;!channel&gt; ¦ &amp; more>",
    );
  });
});

describe("slackDate", () => {
  it("uses Slack's date token with a UTC fallback", () => {
    expect(slackDate(new Date("2026-11-26T09:05:30Z"))).toBe(
      "<!date^1795683930^{date_short_pretty} {time}|2026-11-26 09:05 UTC>",
    );
    expect(slackDate(new Date("2026-11-26T09:05:30Z"), "{date}")).toBe(
      "<!date^1795683930^{date}|2026-11-26 09:05 UTC>",
    );
  });
});

describe("mention", () => {
  it("mentions real user ids", () => {
    expect(mention("U0ALICE")).toBe("<@U0ALICE>");
    expect(mention("W012ABC")).toBe("<@W012ABC>");
  });

  it.each(["<!channel>", "U0ALICE> <!here", "alice", "u0alice", "C0FULFILL", "", "S0FULFILL"])(
    "does not turn %j into a mention or a broadcast",
    (value) => {
      const text = mention(value);
      expect(text).not.toMatch(/<[@!#]/);
    },
  );
});
