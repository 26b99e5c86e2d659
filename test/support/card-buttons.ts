/**
 * The card-button tests' common steps (buttons.test.ts, buttons-resolve.test.ts): a fresh
 * exception with its card, what a click may change, and the two outcomes a click can have:
 * announced (card, one thread line, one audit row) or refused (the clicker told, nothing else).
 */
import { expect } from "vitest";
import type { FailureEventInput } from "../../src/intake/failure-event.schema.js";
import { eventually, failureEvent, type Harness } from "./harness.js";
import {
  auditOf,
  type Button,
  type ClickOptions,
  callsOnCard,
  click,
  DESK,
  posted,
  replyTo,
  threadOf,
} from "./slack-actions.js";
import { useHarness } from "./use-harness.js";

/** A retry spec a producer may send, for cards with a Retry button. */
export const RETRY = {
  queue: "storefront-sync",
  name: "sync.sku",
  data: { sku: "placeholder", store: "eu-1" },
};

/**
 * A test file's harness for card buttons, with the steps on it; `tag` keeps one file's SKUs
 * apart from another's. The files open many unrelated exceptions quickly and are not about
 * storms, so the storm threshold is out of reach.
 */
export function useCardButtons(tag: string) {
  const h = useHarness({ ...DESK, env: { STORM_THRESHOLD: "1000" } });
  return { h, ...cardButtons(h, tag) };
}

function cardButtons(h: Harness, tag: string) {
  let seq = 0;
  /** A fresh exception with its card posted. */
  async function openException(overrides: Partial<FailureEventInput> = {}) {
    seq += 1;
    const sku = `SKU-${tag}-${seq}`;
    await h.report(failureEvent({ sku, ...overrides }));
    const [row] = await posted(h, sku);
    return row!;
  }

  /** What the card, its thread and the audit trail hold now, to compare after a click. */
  async function snapshot(id: number) {
    return {
      row: await h.exception(id),
      updates: await callsOnCard(h, id, "chat.update"),
      replies: (await threadOf(h, id)).length,
      audit: (await h.audit(id)).length,
    };
  }

  /** Clicks and waits until the change is announced (the thread line is the last step). */
  async function clickAndSettle(userId: string, id: number, button: Button) {
    const before = await snapshot(id);
    const res = await click(h, userId, id, button);
    expect(res.status).toBe(200);
    await eventually(
      async () => (await threadOf(h, id)).length > before.replies,
      10_000,
      `the thread line for ${button} by ${userId}`,
    );
    return before;
  }

  /** The click was announced as the issue asks: card updated in place, one line, one audit row. */
  async function expectAnnounced(
    id: number,
    before: Awaited<ReturnType<typeof snapshot>>,
    expected: { actor: string; action: string; stateBefore: string; stateAfter: string },
  ) {
    expect(await callsOnCard(h, id, "chat.update")).toBeGreaterThan(before.updates);
    const replies = await threadOf(h, id);
    expect(replies).toHaveLength(before.replies + 1);
    expect(replies.at(-1)).not.toContain(`<@${expected.actor}>`);
    const audit = await auditOf(h, id, expected.action);
    expect(audit.at(-1)).toMatchObject({ ...expected, source: "slack" });
    expect((await h.audit(id)).length).toBe(before.audit + 1);
    // Still one card: the click never posts a second one.
    const row = await h.exception(id);
    const cards = h.fake.messages(row.channel).filter((m) => String(m.text).includes(row.sku));
    expect(cards).toHaveLength(1);
  }

  /** A refused click: the clicker is told, and nothing else happens. */
  async function expectRefused(
    userId: string,
    id: number,
    button: Button,
    says: string | RegExp,
    options: ClickOptions = {},
  ) {
    const before = await snapshot(id);
    const res = await click(h, userId, id, button, options);
    expect(res.status).toBe(200);
    const reply = await replyTo(h, res);
    if (typeof says === "string") expect(reply).toContain(says);
    else expect(reply).toMatch(says);
    const after = await snapshot(id);
    expect(after).toEqual(before);
    return reply;
  }

  return { openException, snapshot, clickAndSettle, expectAnnounced, expectRefused };
}
