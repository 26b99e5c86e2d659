/**
 * Helpers for the routing review-gate tests: a harness with an approvals channel and a routing
 * file with admins and managers, and ways to play the people who propose, approve and reject.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { and, asc, eq, inArray } from "drizzle-orm";
import type { FakeChannel } from "../../dev/slack/fake-slack.js";
import { auditLog, routingVersions, slackOutbox } from "../../src/platform/db/schema.js";
import { ROUTING_ACTIONS } from "../../src/routing/approval-card.js";
import { eventually, type Harness, type HarnessOptions, startHarness } from "./harness.js";

export const GOVERNED_FIXTURE = fileURLToPath(
  new URL("../fixtures/routing.governed.yml", import.meta.url),
);
export const GOVERNED_TEXT = readFileSync(GOVERNED_FIXTURE, "utf8");
export const APPROVALS = "C0APPROVE";

export const GOVERNED_CHANNELS: FakeChannel[] = [
  { id: "C0FULFILL", name: "fulfillment-ops" },
  { id: "C0ADS", name: "ads-ops" },
  { id: "C0SHOP", name: "storefront-ops" },
  { id: APPROVALS, name: "routing-approvals" },
];

/** One bot per test file with versioned routing from routing.governed.yml. */
export function startGovernedHarness(options: HarnessOptions = {}): Promise<Harness> {
  return startHarness({
    routingFile: GOVERNED_FIXTURE,
    ...options,
    env: { APPROVALS_CHANNEL: APPROVALS, ROUTING_POLL_MS: "60000", ...options.env },
    fake: { channels: GOVERNED_CHANNELS, ...options.fake },
  });
}

/** `text` with `from` replaced by `to`; fails loudly when `from` is not there. */
export function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`${JSON.stringify(from)} is not in the text`);
  return text.replace(from, to);
}

/** The governed routing with ads-ops' throttled/network rule sent to fulfillment-ops instead. */
export const ADS_TO_FULFILLMENT = edit(
  GOVERNED_TEXT,
  "    role: ads-ops\n    severity: high",
  "    role: fulfillment-ops\n    severity: high",
);

export async function versions(h: Harness) {
  return h.bot.deps.db.select().from(routingVersions).orderBy(asc(routingVersions.version));
}

export async function version(h: Harness, number: number) {
  const [row] = await h.bot.deps.db
    .select()
    .from(routingVersions)
    .where(eq(routingVersions.version, number));
  if (!row) throw new Error(`no routing v${number}`);
  return row;
}

export async function routingAudit(h: Harness) {
  return h.bot.deps.db
    .select()
    .from(auditLog)
    .where(eq(auditLog.source, "routing"))
    .orderBy(asc(auditLog.id));
}

/** `/inventory <text>` as `userId`; resolves with what the person sees (the ephemeral answer). */
export async function inventory(h: Harness, userId: string, text: string) {
  const id = randomBytes(6).toString("hex");
  const triggerId = `${Date.now()}.7.${randomBytes(8).toString("hex")}`;
  const res = await h.slack.command({
    command: "/inventory",
    text,
    userId,
    channelId: "C0FULFILL",
    responseUrl: h.fake.responseUrl(id),
    triggerId,
  });
  if (res.status !== 200) throw new Error(`/inventory ${text} answered ${res.status}`);
  return {
    triggerId,
    answer: () => h.fake.waitForResponse(id) as Promise<{ text: string; blocks?: unknown[] }>,
  };
}

/** Clicks Approve or Reject on the approval card of `number`; resolves with the clicker's answer. */
export async function clickDecision(
  h: Harness,
  userId: string,
  number: number,
  button: "approve" | "reject",
) {
  const row = await cardPosted(h, number);
  if (!row.approvalChannel || !row.approvalTs) throw new Error(`v${number} has no approval card`);
  const id = randomBytes(6).toString("hex");
  const triggerId = `${Date.now()}.8.${randomBytes(8).toString("hex")}`;
  const res = await h.slack.blockAction({
    userId,
    channelId: row.approvalChannel,
    messageTs: row.approvalTs,
    actionId: ROUTING_ACTIONS[button],
    value: String(number),
    responseUrl: h.fake.responseUrl(id),
    triggerId,
  });
  if (res.status !== 200) throw new Error(`click answered ${res.status}`);
  return { triggerId, answer: () => h.fake.waitForResponse(id) as Promise<{ text: string }> };
}

/**
 * The version once the outbox has sent everything queued about it (its card, a decision's
 * redraw and note); throws if that takes longer than `timeoutMs`.
 */
export async function cardPosted(h: Harness, number: number, timeoutMs = 10_000) {
  return eventually(
    async () => {
      const open = await h.bot.deps.db
        .select({ id: slackOutbox.id })
        .from(slackOutbox)
        .where(
          and(
            eq(slackOutbox.lane, `routing-v${number}`),
            inArray(slackOutbox.state, ["pending", "sending"]),
          ),
        );
      const row = await version(h, number);
      return open.length === 0 && row.approvalTs ? row : null;
    },
    timeoutMs,
    `the approval card of v${number}`,
  );
}

/** The approval card of `number` as the approvals channel shows it once the outbox is done. */
export async function approvalCard(h: Harness, number: number): Promise<string> {
  const row = await cardPosted(h, number);
  const message = h.fake.messages(APPROVALS).find((m) => m.ts === row.approvalTs);
  if (!message) throw new Error(`no card for v${number}`);
  return JSON.stringify(message.blocks);
}
