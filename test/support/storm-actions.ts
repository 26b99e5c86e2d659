/**
 * Test helpers that play people and producers around storms: a burst of new failures of one
 * kind, clicks on a storm card's buttons, the Resolve all modal, and what the channel shows.
 * Everything goes through BullMQ jobs, signed requests and the fake Slack.
 */
import { randomBytes } from "node:crypto";
import { and, asc, eq, sql } from "drizzle-orm";
import type { SlackResponse } from "../../dev/slack/signing.js";
import type { FailureEventInput } from "../../src/intake/failure-event.schema.js";
import { auditLog, exceptions, type RootCause, storms } from "../../src/platform/db/schema.js";
import { STORM_ACTIONS, type StormRow } from "../../src/storms/storm-card.js";
import { STORM_RESOLVE_CALLBACK } from "../../src/storms/storms.slack.js";
import { eventually, failureEvent, type Harness } from "./harness.js";
import type { Click } from "./slack-actions.js";

/** Sends `count` failures of one kind, each a new fingerprint (its own SKU). */
export async function burst(
  h: Harness,
  count: number,
  kind: Partial<FailureEventInput> & { client: string },
  skuPrefix = `${kind.client}-SKU`,
): Promise<FailureEventInput[]> {
  const events: FailureEventInput[] = [];
  for (let i = 0; i < count; i++) {
    const event = failureEvent({ ...kind, sku: `${skuPrefix}-${randomBytes(3).toString("hex")}` });
    events.push(event);
    await h.report(event);
  }
  return events;
}

export function stormsOf(h: Harness, client: string): Promise<StormRow[]> {
  return h.bot.deps.db
    .select()
    .from(storms)
    .where(eq(storms.client, client))
    .orderBy(asc(storms.id));
}

export async function storm(h: Harness, stormId: number): Promise<StormRow> {
  const [row] = await h.bot.deps.db.select().from(storms).where(eq(storms.id, stormId));
  if (!row) throw new Error(`no storm ${stormId}`);
  return row;
}

export function membersOf(h: Harness, stormId: number) {
  return h.bot.deps.db
    .select()
    .from(exceptions)
    .where(eq(exceptions.stormId, stormId))
    .orderBy(asc(exceptions.id));
}

export function exceptionsOfClient(h: Harness, client: string) {
  return h.bot.deps.db
    .select()
    .from(exceptions)
    .where(eq(exceptions.client, client))
    .orderBy(asc(exceptions.id));
}

/** Waits until the client's storm exists and its card is posted. */
export async function stormFormed(h: Harness, client: string): Promise<StormRow> {
  return eventually(
    async () => {
      const [row] = await stormsOf(h, client);
      return row?.cardTs ? row : null;
    },
    10_000,
    `a storm card for ${client}`,
  );
}

/** The storm card as the channel shows it now. */
export async function stormCard(h: Harness, stormId: number): Promise<Record<string, unknown>> {
  const row = await storm(h, stormId);
  const card = h.fake.messages(row.channel).find((m) => m.ts === row.cardTs);
  if (!card) throw new Error(`card of ST-${stormId} is not in ${row.channel}`);
  return card;
}

/** Top-level messages posted as exception cards for one client (the storm card excluded). */
export function exceptionCardPosts(h: Harness, client: string): number {
  return h.fake
    .callsTo("chat.postMessage")
    .filter(
      (call) =>
        !call.body.thread_ts &&
        (call.body.metadata as { event_type?: string } | undefined)?.event_type ===
          "syncdesk_exception" &&
        String(call.body.text ?? "").includes(client),
    ).length;
}

export function stormCardPosts(h: Harness): number {
  return h.fake
    .callsTo("chat.postMessage")
    .filter(
      (call) =>
        !call.body.thread_ts &&
        (call.body.metadata as { event_type?: string } | undefined)?.event_type ===
          "syncdesk_storm",
    ).length;
}

export type StormButton = keyof typeof STORM_ACTIONS;

const NAMES: Record<string, string> = {
  U0ALICE: "alice",
  U0BOB: "bob",
  U0DAVE: "dave",
  U0MGR: "mgr",
  U0CAROL: "carol",
  U0EVE: "eve",
};
const nameOf = (userId: string) => NAMES[userId] ?? userId.toLowerCase();

/** A person clicks a storm card's button, as Slack sends it. */
export async function clickStorm(
  h: Harness,
  userId: string,
  stormId: number,
  button: StormButton,
  options: { channel?: string; value?: string } = {},
): Promise<Click> {
  const row = await storm(h, stormId);
  const responseId = randomBytes(6).toString("hex");
  const triggerId = `${Date.now()}.1.${randomBytes(8).toString("hex")}`;
  const res = await h.slack.blockAction({
    userId,
    userName: nameOf(userId),
    channelId: options.channel ?? row.channel,
    messageTs: row.cardTs ?? "1700000000.000100",
    actionId: STORM_ACTIONS[button],
    value: options.value ?? String(stormId),
    responseUrl: h.fake.responseUrl(responseId),
    triggerId,
  });
  return { ...res, responseId, triggerId };
}

/** A person submits the Resolve all modal (the response carries field errors if any). */
export function submitStormResolve(
  h: Harness,
  userId: string,
  privateMetadata: string,
  input: { note?: string; rootCause?: RootCause } = {},
): Promise<SlackResponse> {
  const rootCause = input.rootCause ?? "target_outage";
  return h.slack.viewSubmission({
    userId,
    userName: nameOf(userId),
    callbackId: STORM_RESOLVE_CALLBACK,
    privateMetadata,
    values: {
      note: { value: { type: "plain_text_input", value: input.note ?? "ERP limit raised" } },
      root_cause: {
        value: {
          type: "static_select",
          selected_option: { text: { type: "plain_text", text: rootCause }, value: rootCause },
        },
      },
    },
  });
}

/** Storm-wide audit rows (exception id null, storm id in details), oldest first. */
export function stormAudit(h: Harness, stormId: number, action?: string) {
  return h.bot.deps.db
    .select()
    .from(auditLog)
    .where(
      and(
        sql`${auditLog.details}->>'stormId' = ${String(stormId)}`,
        sql`${auditLog.exceptionId} is null`,
        action ? eq(auditLog.action, action) : undefined,
      ),
    )
    .orderBy(asc(auditLog.id));
}
