import { describe, expect, it } from "vitest";
import { blockKitViolations } from "../../../dev/slack/block-kit-limits.js";
import {
  ACTIONS,
  type ExceptionRow,
  renderCard,
  statusLines,
} from "../../../src/exceptions/card.js";
import type { FailureEvent } from "../../../src/intake/failure-event.schema.js";

const AT = new Date("2026-11-26T09:00:00Z");

function event(overrides: Partial<FailureEvent> = {}): FailureEvent {
  return {
    eventId: "evt-1",
    occurredAt: AT.toISOString(),
    client: "globex",
    sku: "SKU-1",
    sourceSystem: "erp.netsuite",
    targetSystem: "storefront.shopify",
    operation: "stock_update",
    failureMode: "partial_write",
    error: { message: "Shopify accepted 40 of 41 variants", code: "PARTIAL", httpStatus: 207 },
    attempts: 5,
    ...overrides,
  };
}

function row(
  overrides: Partial<ExceptionRow> = {},
  latest: Partial<FailureEvent> = {},
): ExceptionRow {
  const latestEvent = event(latest);
  return {
    id: 7,
    fingerprint: "fp",
    client: latestEvent.client,
    vertical: latestEvent.vertical ?? null,
    sku: latestEvent.sku,
    sourceSystem: latestEvent.sourceSystem,
    targetSystem: latestEvent.targetSystem,
    operation: latestEvent.operation,
    failureMode: latestEvent.failureMode,
    state: "open",
    severity: "normal",
    role: "fulfillment-ops",
    ruleIndex: 2,
    routingVersion: null,
    firstEvent: latestEvent,
    latestEvent,
    occurrences: 1,
    firstSeenAt: AT,
    lastSeenAt: AT,
    openedAt: AT,
    reopenOf: null,
    claimedBy: null,
    claimedAt: null,
    retryCount: 0,
    retryJobId: null,
    retryQueue: null,
    retryRequestedBy: null,
    lastRetryError: null,
    resolvedBy: null,
    resolvedAt: null,
    resolution: null,
    resolutionNote: null,
    rootCause: null,
    channel: "C0FULFILL",
    cardTs: null,
    nextDeadlineAt: null,
    breachedAt: null,
    escalations: 0,
    slaFired: [],
    createdAt: AT,
    updatedAt: AT,
    ...overrides,
  } as ExceptionRow;
}

const RETRY = { queue: "storefront-sync", name: "sync.sku", data: { sku: "SKU-1" } };

type Block = {
  type: string;
  text?: { type: string; text: string };
  fields?: { type: string; text: string }[];
  elements?: Record<string, unknown>[];
};

function blocksOf(card: { blocks: object[] }): Block[] {
  return card.blocks as Block[];
}

/** Every mrkdwn string Slack would parse: section texts, fields, context elements. */
function mrkdwnTexts(card: { text: string; blocks: object[] }): string[] {
  const texts = [card.text];
  for (const block of blocksOf(card)) {
    if (block.text?.type === "mrkdwn") texts.push(block.text.text);
    for (const field of block.fields ?? []) texts.push(field.text);
    for (const element of block.elements ?? [])
      if (element.type === "mrkdwn") texts.push(String(element.text));
  }
  return texts;
}

const allText = (card: { text: string; blocks: object[] }) => mrkdwnTexts(card).join("\n");

function buttons(card: { blocks: object[] }) {
  return blocksOf(card)
    .filter((block) => block.type === "actions")
    .flatMap((block) => block.elements ?? [])
    .map((element) => ({
      label: (element.text as { text: string }).text,
      actionId: element.action_id,
      value: element.value,
    }));
}

const CORE = ["Claim", "Unclaim", "Retry", "Resolve…"];
/** The claim/retry/resolve buttons, in order (other features may add their own after them). */
const labels = (card: { blocks: object[] }) =>
  buttons(card)
    .map((b) => b.label)
    .filter((label) => CORE.includes(label));

describe("renderCard: fields", () => {
  it("shows every detail of the failure as mrkdwn field objects", () => {
    const card = renderCard(
      row(
        { vertical: "apparel", occurrences: 3, retryCount: 1 },
        { vertical: "apparel", traceId: "trace-9", quantity: { expected: 41, observed: 40 } },
      ),
    );
    const fields = blocksOf(card).find((b) => b.fields)?.fields ?? [];
    expect(fields.every((field) => field.type === "mrkdwn")).toBe(true);
    const text = allText(card);
    for (const expected of [
      "*Client*\nglobex (apparel)",
      "*SKU*\nSKU-1",
      "*Source → target*\nerp.netsuite → storefront.shopify",
      "*Failure mode*\npartial_write · stock_update",
      "*Attempts*\n5 automatic, 1 from Slack",
      "*Occurrences*\n3",
      "*First seen*\n<!date^1795683600^",
      "*Owner*\nfulfillment-ops (rule 3)",
      "*Stock*\nexpected 41 · observed 40 · drift -1",
      "HTTP 207, code PARTIAL, trace trace-9",
      "```Shopify accepted 40 of 41 variants```",
    ]) {
      expect(text).toContain(expected);
    }
    const header = blocksOf(card)[0];
    expect(header).toMatchObject({ type: "header", text: { type: "plain_text" } });
    expect(header?.text?.text).toBe("EX-7 · NORMAL · globex · SKU-1");
    expect(card.text).toContain("NORMAL globex SKU-1 → storefront.shopify: partial_write (open)");
  });

  it.each([
    [{ expected: 10, observed: 14 }, "expected 10 · observed 14 · drift +4"],
    [{ expected: 10, observed: 10 }, "expected 10 · observed 10 · drift 0"],
    [{ expected: 3 }, "expected 3"],
    [{ observed: 0 }, "observed 0"],
  ])("shows stock %j as %s", (quantity, line) => {
    expect(allText(renderCard(row({}, { quantity })))).toContain(`*Stock*\n${line}\n`.trimEnd());
  });

  it("leaves the stock field out when the event has no quantities", () => {
    expect(allText(renderCard(row()))).not.toContain("*Stock*");
    expect(allText(renderCard(row({}, { quantity: {} })))).not.toContain("*Stock*");
  });

  it("names the pipeline, not a SKU, on a stale or over-budget gate's card", () => {
    const gate = {
      kind: "stale",
      pipeline: "acme-erp-to-shopify",
      expectedAt: "2026-11-26T09:00:00.000Z",
      detectedAt: "2026-11-26T09:00:02.000Z",
      freshnessMs: 1_800_000,
    };
    const card = renderCard(
      row({ sku: "pipeline:acme-erp-to-shopify", failureMode: "stale" }, {
        sku: "pipeline:acme-erp-to-shopify",
        failureMode: "stale",
        gate,
      } as Partial<FailureEvent>),
    );
    const text = allText(card);
    expect(text).toContain("*Pipeline*\nacme-erp-to-shopify");
    expect(text).toContain("pipeline acme-erp-to-shopify");
    expect(text).not.toContain("*SKU*");
    expect(text).not.toContain("pipeline:acme");
    // Resolved by its gate: the card says so, not "a later sync of this SKU".
    const cleared = allText(
      renderCard(
        row(
          {
            sku: "pipeline:acme-erp-to-shopify",
            state: "resolved",
            resolution: "recovered",
            resolvedAt: AT,
          },
          { gate } as Partial<FailureEvent>,
        ),
      ),
    );
    expect(cleared).toContain("recovered: the stale-pipeline gate cleared itself");
    expect(cleared).not.toContain("a later sync of this SKU");
    // A late delivery is about one SKU: its card keeps the SKU.
    const late = renderCard(row({}, { gate: { ...gate, kind: "late" } } as Partial<FailureEvent>));
    expect(allText(late)).toContain("*SKU*\nSKU-1");
  });

  it("says (no message) for an empty error message", () => {
    expect(allText(renderCard(row({}, { error: { message: "" } })))).toContain(
      "```(no message)```",
    );
  });

  it("renders links with their labels and without letting a URL break out of the link", () => {
    const card = renderCard(
      row(
        {},
        {
          links: [
            { label: "Run log", url: "https://pipelines.example.com/runs/42?a=1&b=2" },
            { label: "a|b <c>", url: "https://x.example.com/p|<!channel>" },
          ],
        },
      ),
    );
    const text = allText(card);
    expect(text).toContain("<https://pipelines.example.com/runs/42?a=1&amp;b=2|Run log>");
    expect(text).toContain("<https://x.example.com/p%7C%3C!channel%3E|a¦b &lt;c&gt;>");
    expect(text).not.toContain("<!channel>");
  });

  it("shows whole links only when they do not all fit", () => {
    const links = Array.from({ length: 10 }, (_, i) => ({
      label: `log ${i}`,
      url: `https://example.com/${String(i).repeat(600)}`,
    }));
    const card = renderCard(row({}, { links }));
    const line = mrkdwnTexts(card).find((t) => t.includes("https://example.com/0")) ?? "";
    expect(line.length).toBeLessThanOrEqual(3000);
    expect(line).toMatch(/\d more links not shown$/);
    const opened = line.split("<").length - 1;
    const closed = line.split(">").length - 1;
    expect(opened).toBe(closed);
    expect(blockKitViolations(card, "message")).toEqual([]);
  });
});

describe("renderCard: status line and buttons per state", () => {
  it("open: says nobody claimed it; Claim, Retry, Resolve", () => {
    const card = renderCard(row({}, { retry: RETRY }));
    expect(statusLines(row())[0]).toBe(
      ":large_yellow_circle: *Open* — nobody has claimed this yet",
    );
    expect(buttons(card).filter((b) => CORE.includes(b.label))).toEqual([
      { label: "Claim", actionId: ACTIONS.claim, value: "7" },
      { label: "Retry", actionId: ACTIONS.retry, value: "7" },
      { label: "Resolve…", actionId: ACTIONS.resolve, value: "7" },
    ]);
  });

  it("Retry asks first, naming the job, the queue and the SKU, as plain text", () => {
    const card = renderCard(
      row({ sku: "<!channel>" }, { retry: { ...RETRY, queue: "storefront-sync" } }),
    );
    const retry = (card.blocks as { type: string; elements?: Record<string, unknown>[] }[])
      .flatMap((block) => (block.type === "actions" ? (block.elements ?? []) : []))
      .find((element) => element.action_id === ACTIONS.retry);
    expect(retry?.confirm).toEqual({
      title: { type: "plain_text", text: "Retry EX-7?" },
      text: {
        type: "plain_text",
        text: `Adds job "${RETRY.name}" to queue storefront-sync for <!channel>; the card follows its result.`,
      },
      confirm: { type: "plain_text", text: "Queue retry" },
      deny: { type: "plain_text", text: "Cancel" },
    });
    expect(blockKitViolations(card, "message")).toEqual([]);
  });

  it("open without a retry spec: no Retry button", () => {
    expect(labels(renderCard(row()))).toEqual(["Claim", "Resolve…"]);
  });

  it("claimed: names the owner and when; Unclaim replaces Claim", () => {
    const claimed = row(
      { state: "claimed", claimedBy: "U0ALICE", claimedAt: AT },
      { retry: RETRY },
    );
    const [line] = statusLines(claimed);
    expect(line).toContain("*Claimed* by <@U0ALICE>");
    expect(line).toContain("<!date^1795683600^");
    expect(labels(renderCard(claimed))).toEqual(["Unclaim", "Retry", "Resolve…"]);
  });

  it("retrying: says which retry, who queued it and who holds it; no Retry button", () => {
    const retrying = row(
      { state: "retrying", retryCount: 2, retryRequestedBy: "U0BOB", claimedBy: "U0ALICE" },
      { retry: RETRY },
    );
    expect(statusLines(retrying)[0]).toBe(
      ":arrows_counterclockwise: *Retry #2 queued* by <@U0BOB> · held by <@U0ALICE>",
    );
    expect(labels(renderCard(retrying))).toEqual(["Unclaim", "Resolve…"]);
    expect(renderCard(retrying).text).toContain("(retry #2 queued)");
    const unheld = row(
      { state: "retrying", retryCount: 1, retryRequestedBy: "U0BOB" },
      { retry: RETRY },
    );
    expect(statusLines(unheld)[0]).not.toContain("held by");
    expect(labels(renderCard(unheld))).toEqual(["Claim", "Resolve…"]);
  });

  it("after a failed retry: shows the error until the next retry", () => {
    const failed = row(
      { state: "claimed", claimedBy: "U0ALICE", retryCount: 1, lastRetryError: "HTTP 503 <b>" },
      { retry: RETRY },
    );
    expect(statusLines(failed)).toContain(":warning: Retry #1 failed: HTTP 503 &lt;b&gt;");
    expect(labels(renderCard(failed))).toEqual(["Unclaim", "Retry", "Resolve…"]);
    expect(statusLines({ ...failed, state: "retrying" }).join()).not.toContain("failed");
  });

  it("resolved by hand: who, when, root cause and note; no buttons; every detail kept", () => {
    const resolved = row({
      state: "resolved",
      resolution: "manual",
      resolvedBy: "U0MGR",
      resolvedAt: AT,
      rootCause: "mapping_schema",
      resolutionNote: "Re-mapped <size> & re-sent",
      claimedBy: "U0ALICE",
    });
    const card = renderCard(resolved);
    const [line] = statusLines(resolved);
    expect(line).toContain("*Resolved* by <@U0MGR>");
    expect(line).toContain("Root cause: Mapping or schema");
    expect(line).toContain("“Re-mapped &lt;size&gt; &amp; re-sent”");
    expect(buttons(card)).toEqual([]);
    expect(blocksOf(card).some((b) => b.type === "actions")).toBe(false);
    expect(allText(card)).toContain("*SKU*\nSKU-1");
    expect(allText(card)).toContain("Shopify accepted 40 of 41 variants");
  });

  it("resolved by retry and recovered: says how, without a person", () => {
    const byRetry = row({
      state: "resolved",
      resolution: "retry",
      retryCount: 1,
      retryRequestedBy: "U0BOB",
      resolvedAt: AT,
    });
    expect(statusLines(byRetry)[0]).toContain("*Resolved* by retry #1 (queued by <@U0BOB>)");
    const recovered = row({ state: "resolved", resolution: "recovered", resolvedAt: AT });
    expect(statusLines(recovered)[0]).toContain(
      "recovered: a later sync of this SKU to storefront.shopify succeeded",
    );
  });

  it("a reopened episode points at the one before", () => {
    expect(statusLines(row({ reopenOf: 3 }))).toContain(
      ":repeat: Reopened: EX-3 had been resolved",
    );
  });

  it("shows the state in a section right under the header, with other features' lines (at most ten)", () => {
    const extra = Array.from({ length: 15 }, (_, i) => `:alarm_clock: line ${i}`);
    const card = renderCard(row({ state: "claimed", claimedBy: "U0ALICE" }), { context: extra });
    const [header, state] = blocksOf(card) as { type: string; text?: { text: string } }[];
    expect(header?.type).toBe("header");
    expect(state?.type).toBe("section");
    const lines = state?.text?.text.split("\n") ?? [];
    expect(lines[0]).toContain(":raising_hand: *Claimed* by <@U0ALICE>");
    expect(lines[1]).toBe(":alarm_clock: line 0");
    expect(lines).toHaveLength(10);
    // Not in a small grey context block any more.
    const contexts = JSON.stringify(blocksOf(card).filter((b) => b.type === "context"));
    expect(contexts).not.toContain("*Claimed*");
    expect(blockKitViolations(card, "message")).toEqual([]);
  });
});

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
