/** renderCard: what a card says and which buttons it offers, in each state. */
import { describe, expect, it } from "vitest";
import { blockKitViolations } from "../../../dev/slack/block-kit-limits.js";
import { ACTIONS, renderCard, statusLines } from "../../../src/exceptions/card.js";
import type { FailureEvent } from "../../../src/intake/failure-event.schema.js";
import {
  AT,
  allText,
  blocksOf,
  buttons,
  CORE,
  labels,
  mrkdwnTexts,
  RETRY,
  row,
} from "./card-fixtures.js";

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
