/** A failure event and its exception row as the card renders them, and readers of a card. */
import type { ExceptionRow } from "../../../src/exceptions/card.js";
import type { FailureEvent } from "../../../src/intake/failure-event.schema.js";

export const AT = new Date("2026-11-26T09:00:00Z");

export function event(overrides: Partial<FailureEvent> = {}): FailureEvent {
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

export function row(
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

export const RETRY = { queue: "storefront-sync", name: "sync.sku", data: { sku: "SKU-1" } };

export type Block = {
  type: string;
  text?: { type: string; text: string };
  fields?: { type: string; text: string }[];
  elements?: Record<string, unknown>[];
};

export function blocksOf(card: { blocks: object[] }): Block[] {
  return card.blocks as Block[];
}

/** Every mrkdwn string Slack would parse: section texts, fields, context elements. */
export function mrkdwnTexts(card: { text: string; blocks: object[] }): string[] {
  const texts = [card.text];
  for (const block of blocksOf(card)) {
    if (block.text?.type === "mrkdwn") texts.push(block.text.text);
    for (const field of block.fields ?? []) texts.push(field.text);
    for (const element of block.elements ?? [])
      if (element.type === "mrkdwn") texts.push(String(element.text));
  }
  return texts;
}

export const allText = (card: { text: string; blocks: object[] }) => mrkdwnTexts(card).join("\n");

export function buttons(card: { blocks: object[] }) {
  return blocksOf(card)
    .filter((block) => block.type === "actions")
    .flatMap((block) => block.elements ?? [])
    .map((element) => ({
      label: (element.text as { text: string }).text,
      actionId: element.action_id,
      value: element.value,
    }));
}

export const CORE = ["Claim", "Unclaim", "Retry", "Resolve…"];
/** The claim/retry/resolve buttons, in order (other features may add their own after them). */
export const labels = (card: { blocks: object[] }) =>
  buttons(card)
    .map((b) => b.label)
    .filter((label) => CORE.includes(label));
