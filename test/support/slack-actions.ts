/**
 * Test helpers that play a person in Slack against a running harness: click a card's button,
 * submit the resolve modal, read what the clicker and the channel see. Everything goes through
 * signed requests and the fake Slack; nothing reaches into the bot's internals.
 */
import { randomBytes } from "node:crypto";
import { and, asc, eq } from "drizzle-orm";
import type { SlackResponse } from "../../dev/slack/signing.js";
import { ACTIONS } from "../../src/exceptions/card.js";
import { RESOLVE_CALLBACK } from "../../src/exceptions/exceptions.slack.js";
import { auditLog, failureEvents, type RootCause } from "../../src/platform/db/schema.js";
import { FAST_OUTBOX } from "./fast-slack.js";
import { eventually, type Harness, type HarnessOptions } from "./harness.js";

/**
 * Harness options for files about the desk's behaviour, not Slack pacing: card refreshes are
 * not coalesced (production waits up to 2 s between writes to one card), so a test of two
 * clicks does not wait for the window. Coalescing has its own tests.
 */
export const DESK: HarnessOptions = {
  start: { slackOutbox: { ...FAST_OUTBOX, cardWindowMs: 0 } },
};

/** The people of test/fixtures/routing.test.yml (and one who is in no role). */
export const USERS = {
  alice: "U0ALICE", // fulfillment-ops member
  bob: "U0BOB", // fulfillment-ops member
  dave: "U0DAVE", // fulfillment-ops through the S0FULFILL user group
  manager: "U0MGR", // fulfillment-ops manager
  carol: "U0CAROL", // ads-ops member
  eve: "U0EVE", // in no role
} as const;

const NAMES: Record<string, string> = {
  U0ALICE: "alice",
  U0BOB: "bob",
  U0DAVE: "dave",
  U0MGR: "mgr",
  U0CAROL: "carol",
  U0EVE: "eve",
};

export type Button = keyof typeof ACTIONS;

export interface Click extends SlackResponse {
  /** The response_url id the click carried; the clicker's ephemeral answers land there. */
  responseId: string;
  triggerId: string;
}

export interface ClickOptions {
  /** Where the card was clicked; defaults to the exception's own channel and card ts. */
  channel?: string;
  messageTs?: string;
  /** The button value as sent; defaults to the exception id. */
  value?: string;
}

/** A person clicks one of an exception card's buttons, as Slack sends it. */
export async function click(
  h: Harness,
  userId: string,
  exceptionId: number,
  button: Button,
  options: ClickOptions = {},
): Promise<Click> {
  const row = await h.exception(exceptionId);
  const responseId = randomBytes(6).toString("hex");
  const triggerId = `${Date.now()}.1.${randomBytes(8).toString("hex")}`;
  const res = await h.slack.blockAction({
    userId,
    userName: NAMES[userId] ?? userId.toLowerCase(),
    channelId: options.channel ?? row.channel,
    messageTs: options.messageTs ?? row.cardTs ?? "1700000000.000100",
    actionId: ACTIONS[button],
    value: options.value ?? String(exceptionId),
    responseUrl: h.fake.responseUrl(responseId),
    triggerId,
  });
  return { ...res, responseId, triggerId };
}

/** The first ephemeral answer the clicker got through the response_url. */
export async function replyTo(h: Harness, click: { responseId: string }): Promise<string> {
  const body = (await h.fake.waitForResponse(click.responseId)) as {
    text?: string;
    response_type?: string;
  };
  if (body.response_type !== "ephemeral") throw new Error("the answer was not ephemeral");
  return body.text ?? "";
}

export interface ResolveSubmission {
  note?: string;
  rootCause?: RootCause | null;
  /** Overrides what the bot put in the modal: a forged form. */
  privateMetadata?: string;
  channel?: string;
}

/** A person submits the resolve modal. The response carries `response_action: errors` if any. */
export async function submitResolve(
  h: Harness,
  userId: string,
  exceptionId: number,
  submission: ResolveSubmission = {},
): Promise<SlackResponse> {
  const row = await h.exception(exceptionId);
  const rootCause = submission.rootCause === undefined ? "mapping_schema" : submission.rootCause;
  return h.slack.viewSubmission({
    userId,
    userName: NAMES[userId] ?? userId.toLowerCase(),
    callbackId: RESOLVE_CALLBACK,
    privateMetadata:
      submission.privateMetadata ??
      JSON.stringify({ exceptionId, channel: submission.channel ?? row.channel }),
    values: {
      note: { value: { type: "plain_text_input", value: submission.note ?? "Re-sent the feed" } },
      root_cause: {
        value: {
          type: "static_select",
          selected_option: rootCause
            ? { text: { type: "plain_text", text: rootCause }, value: rootCause }
            : null,
        },
      },
    },
  });
}

type Message = Record<string, unknown>;

/** The exception's card as the channel shows it now. */
export async function cardOf(h: Harness, exceptionId: number): Promise<Message> {
  const row = await h.exception(exceptionId);
  if (!row.cardTs) throw new Error(`EX-${exceptionId} has no card`);
  const card = h.fake.messages(row.channel).find((m) => m.ts === row.cardTs);
  if (!card) throw new Error(`card of EX-${exceptionId} is not in ${row.channel}`);
  return card;
}

/** Every text a reader sees in a message's blocks, joined by newlines. */
export function textOf(message: Message): string {
  const texts: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
    } else if (node && typeof node === "object") {
      const obj = node as Record<string, unknown>;
      if (typeof obj.text === "string") texts.push(obj.text);
      for (const value of Object.values(obj)) walk(value);
    }
  };
  walk(message.blocks);
  return texts.join("\n");
}

/** The labels of the card's buttons, in order. */
export function buttonsOf(message: Message): string[] {
  const blocks = (message.blocks ?? []) as {
    type: string;
    elements?: { text?: { text: string } }[];
  }[];
  return blocks
    .filter((block) => block.type === "actions")
    .flatMap((block) => block.elements ?? [])
    .map((element) => element.text?.text ?? "");
}

/** Thread replies under the exception's card. */
export async function threadOf(h: Harness, exceptionId: number): Promise<string[]> {
  const row = await h.exception(exceptionId);
  if (!row.cardTs) return [];
  return h.fake.threadReplies(row.channel, row.cardTs).map((m) => String(m.text ?? ""));
}

/** Audit rows of one exception with one action, oldest first. */
export function auditOf(h: Harness, exceptionId: number, action: string) {
  return h.bot.deps.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.exceptionId, exceptionId), eq(auditLog.action, action)))
    .orderBy(asc(auditLog.id));
}

/** Waits for the exception's card to be posted and returns its row. */
export async function posted(h: Harness, sku: string, count = 1) {
  return eventually(
    async () => {
      const rows = await h.exceptionsFor(sku);
      return rows.length >= count && rows.every((row) => row.cardTs) ? rows : null;
    },
    10_000,
    `${count} card(s) for ${sku}`,
  );
}

/** Waits for the exception that took this eventId to have its card, and returns its row. */
export async function exceptionOf(h: Harness, eventId: string) {
  return eventually(
    async () => {
      const [stored] = await h.bot.deps.db
        .select({ exceptionId: failureEvents.exceptionId })
        .from(failureEvents)
        .where(eq(failureEvents.eventId, eventId));
      if (!stored) return null;
      const row = await h.exception(stored.exceptionId);
      return row.cardTs ? row : null;
    },
    10_000,
    `the card of event ${eventId}`,
  );
}

/** How many Web API calls of `method` concern the card of this exception. */
export async function callsOnCard(h: Harness, exceptionId: number, method: string) {
  const row = await h.exception(exceptionId);
  return h.fake
    .callsTo(method)
    .filter((call) =>
      method === "chat.update"
        ? call.body.ts === row.cardTs
        : call.body.thread_ts === row.cardTs || call.body.ts === row.cardTs,
    ).length;
}
