/**
 * The sentences of storm actions. The storm services return facts (`StormRefusal`, the counts
 * of a Retry all); this file turns them into what a person reads in Slack.
 */
import { outsiderMessage } from "../exceptions/exceptions.messages.js";
import type { Refusal } from "../exceptions/state-machine.js";
import { escapeMrkdwn, mention, stripMrkdwn } from "../platform/slack/mrkdwn.js";
import { stormLabel } from "./storm-key.js";

/** Members a Retry all passes over, by the reason a member's own retry would be refused. */
export type Skipped = Map<Refusal["reason"], number>;

/** Why a click on a storm card changed nothing. */
export type StormRefusal =
  | { reason: "not_found"; stormId: number; here: boolean }
  | { reason: "outsider"; stormId: number; role: string }
  | { reason: "already_claimed"; stormId: number; by: string; byActor: boolean }
  | { reason: "nothing_to_retry"; stormId: number; skipped: Skipped }
  | { reason: "all_resolved"; stormId: number };

export function stormRefusalMessage(refusal: StormRefusal): string {
  const label = stormLabel(refusal.stormId);
  switch (refusal.reason) {
    case "not_found":
      return `I can't find storm ${label}${refusal.here ? " here" : ""}.`;
    case "outsider":
      return outsiderMessage(refusal.role, `act on storm ${label}`);
    case "already_claimed": {
      const who = refusal.byActor ? "you" : mention(refusal.by);
      return `Storm ${label} is already claimed by ${who}. Nothing was changed.`;
    }
    case "nothing_to_retry": {
      const skipped = skipText(refusal.skipped);
      return `Nothing to retry in storm ${label}${skipped ? `: ${skipped}` : ""}. Nothing was changed.`;
    }
    case "all_resolved":
      return `Every member of storm ${label} is already resolved. Nothing was changed.`;
  }
}

/** The same refusal for a modal's error line, which shows plain text. */
export function plainStormRefusal(refusal: StormRefusal): string {
  return stripMrkdwn(stormRefusalMessage(refusal));
}

export function stormClaimedNote(actorName: string): string {
  return `:raising_hand: *${escapeMrkdwn(actorName)}* claimed this storm: its open members, and new ones, go to them.`;
}

export function retriesQueuedNote(
  actorName: string,
  queued: number,
  intervalMs: number,
  skipped: Skipped,
): string {
  const seconds = Math.ceil((queued * intervalMs) / 1000);
  const skippedText = skipText(skipped);
  return `:repeat: *${escapeMrkdwn(actorName)}* queued retries of ${queued} member${queued === 1 ? "" : "s"}, one every ${intervalMs} ms (about ${seconds}s).${skippedText ? ` Skipped: ${skippedText}.` : ""}`;
}

const SKIP_WORDS: Record<Refusal["reason"], string> = {
  already_claimed: "already claimed",
  already_resolved: "already resolved",
  not_claimed: "not claimed",
  held_by_other: "held by someone else",
  retry_unavailable: "without a retry job",
  retry_in_progress: "already retrying",
  not_retrying: "not retrying",
};

function skipText(skipped: Skipped): string {
  return [...skipped].map(([reason, n]) => `${n} ${SKIP_WORDS[reason]}`).join(", ");
}
