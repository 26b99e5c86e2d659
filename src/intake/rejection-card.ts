/**
 * The one card of rejected events, whatever contract they broke (failure events, outcomes,
 * deliveries): one card per producer and problem, with a count redrawn in place, where the
 * producer's role works, linking the contract docs and the JSON Schema. Pure.
 */
import type { RejectionKind } from "../platform/db/rejections.schema.js";
import {
  escapeMrkdwn,
  mention,
  mrkdwnLink,
  safeText,
  slackDate,
} from "../platform/slack/mrkdwn.js";

export const REVIEW_GROUP_ACTION = "rejections.review";

export interface RejectionGroupView {
  id: number;
  kind: RejectionKind;
  producer: string;
  role: string;
  count: number;
  firstSeenAt: Date;
  lastSeenAt: Date;
  /** The latest event as received. */
  sample: string;
  /** What was wrong with it, one problem per line (`path message`). */
  details: string;
  reviewedBy: string | null;
  reviewedAt: Date | null;
}

const CONTRACTS: Record<RejectionKind, { what: string; consequence: string; schema: string }> = {
  failure: {
    what: "failure-event contract",
    consequence: "no exception was opened",
    schema: "contract/failure-event.v1.schema.json",
  },
  outcome: {
    what: "outcome contract (`kind: sync.succeeded`, `client`, `sku`, `targetSystem`, `occurredAt`)",
    consequence: "nothing was resolved",
    schema: "contract/sync-succeeded.v1.schema.json",
  },
  delivery: {
    what: "delivery contract (`sync.succeeded`, `sync.started`, `sync.batch`)",
    consequence: "they were not counted",
    schema: "contract/",
  },
};

/** README's anchor of "The event contract (for producers)". */
const DOCS_ANCHOR = "README.md#the-event-contract-for-producers";
const MAX_DETAIL_LINES = 15;

/** Links to the docs and the schema under `docsUrl`; without one, the files by name. */
export function contractLinks(kind: RejectionKind, docsUrl?: string): string {
  const { schema } = CONTRACTS[kind];
  if (!docsUrl) return `Contract: \`${DOCS_ANCHOR}\` · JSON Schema: \`${schema}\``;
  const base = docsUrl.endsWith("/") ? docsUrl : `${docsUrl}/`;
  return `Contract: ${mrkdwnLink(`${base}${DOCS_ANCHOR}`, "the event contract")} · ${mrkdwnLink(`${base}${schema}`, "JSON Schema")}`;
}

export function renderRejectionGroupCard(
  group: RejectionGroupView,
  docsUrl?: string,
): { text: string; blocks: object[] } {
  const contract = CONTRACTS[group.kind];
  const events = group.count === 1 ? "1 event" : `${group.count} events`;
  const producer = `\`${safeText(group.producer, 100)}\``;
  // Whole lines only, within the section's 3000 characters: a cut line could end mid-entity.
  const lines: string[] = [];
  const all = group.details.split("\n").filter((line) => line.trim() !== "");
  let length = 0;
  for (const line of all.slice(0, MAX_DETAIL_LINES)) {
    const shown = `• ${safeText(line, 300)}`;
    if (length + shown.length + 1 > 2800) break;
    lines.push(shown);
    length += shown.length + 1;
  }
  if (all.length > lines.length) lines.push(`…and ${all.length - lines.length} more`);
  const blocks: object[] = [
    {
      type: "section",
      text: {
        type: "mrkdwn",
        text: `:no_entry: *${events} rejected* from ${producer}: ${group.count === 1 ? "it does" : "they do"} not match the ${contract.what}, so ${contract.consequence}. ${group.count === 1 ? "It is" : "Each is"} stored as received.`,
      },
    },
    {
      type: "section",
      text: { type: "mrkdwn", text: `*What was wrong*\n${lines.join("\n") || "(no detail)"}` },
    },
    {
      type: "context",
      elements: [
        {
          type: "mrkdwn",
          text: `First ${slackDate(group.firstSeenAt)} · latest ${slackDate(group.lastSeenAt)} · for role *${escapeMrkdwn(group.role)}*`,
        },
        { type: "mrkdwn", text: `Latest: \`${safeText(group.sample, 500)}\`` },
        { type: "mrkdwn", text: contractLinks(group.kind, docsUrl) },
      ],
    },
  ];
  if (group.reviewedBy && group.reviewedAt) {
    blocks.push({
      type: "context",
      elements: [
        {
          type: "mrkdwn",
          text: `:white_check_mark: Reviewed by ${mention(group.reviewedBy)} · ${slackDate(group.reviewedAt)}. New ones start a new card.`,
        },
      ],
    });
  } else {
    blocks.push({
      type: "actions",
      block_id: "rejections_actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Mark reviewed" },
          action_id: REVIEW_GROUP_ACTION,
          value: String(group.id),
        },
      ],
    });
  }
  return {
    text: `${events} rejected from ${escapeMrkdwn(group.producer.slice(0, 100))}: ${escapeMrkdwn(all[0]?.slice(0, 200) ?? "contract broken")}`,
    blocks,
  };
}
