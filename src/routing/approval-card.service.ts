/**
 * Tells Slack about routing decisions: the approval card in APPROVALS_CHANNEL, its refresh
 * and thread note after a decision, and break-glass alarms go through the Slack outbox,
 * queued in the transaction of the proposal or decision (a Slack outage delays them, never
 * loses them; each goes out once). The card's channel and ts land on the version row when it
 * is posted; the decision's edit and note, in the same lane, find it there.
 */
import { and, eq, isNull, ne } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.js";
import type { Queryable } from "../platform/db/db.js";
import { routingVersions, slackOutbox } from "../platform/db/schema.js";
import { escapeMrkdwn } from "../platform/slack/mrkdwn.js";
import { queueMessage } from "../platform/slack/outbox-message.js";
import {
  type SubjectBinding,
  type SubjectOf,
  subjectLane,
} from "../platform/slack/outbox-subjects.js";
import { author, renderApprovalCard } from "./approval-card.js";
import type { DecisionResult } from "./decision-result.js";
import type { VersionRow } from "./versions.repo.js";

const subjectOf = (version: number) => ({ type: "routing_version", id: version }) as const;
const cardKey = (version: number) => `routing-v${version}-card`;

/** Queues the approval card of a new proposal; inside the transaction that stores it. */
export async function queueApprovalCard(
  tx: Queryable,
  approvalsChannel: string | undefined,
  row: VersionRow,
): Promise<void> {
  if (!approvalsChannel) return;
  await queueMessage(tx, {
    subject: subjectOf(row.version),
    channel: approvalsChannel,
    dedupeKey: cardKey(row.version),
    ...renderApprovalCard(row),
  });
}

/**
 * Queues what Slack should show of a decision, inside its transaction: the decided card and
 * the cards of proposals it outdated are redrawn with a note in their threads, and a
 * break-glass activation raises the alarm. Returns the result unchanged.
 */
export async function queueDecision(
  tx: Queryable,
  approvalsChannel: string | undefined,
  result: DecisionResult,
): Promise<DecisionResult> {
  if (!result.ok) return result;
  const { row, outdated } = result;
  await queueRefresh(tx, row, decisionNote(row));
  for (const stale of outdated)
    await queueRefresh(tx, stale, `:zzz: Outdated: v${row.version} was activated first.`);
  if (row.breakGlass && approvalsChannel) {
    await queueMessage(tx, {
      lane: subjectLane(subjectOf(row.version)),
      channel: approvalsChannel,
      dedupeKey: `routing-v${row.version}-break-glass`,
      text: `:rotating_light: Break-glass: ${author(row.decidedBy)} activated routing v${row.version} (rollback to v${row.rollbackOf}) without review. Reason: ${escapeMrkdwn(row.reason)}`,
    });
  }
  return result;
}

/** The card's redraw and a note in its thread, if the version has a card (posted or queued). */
async function queueRefresh(tx: Queryable, row: VersionRow, note: string): Promise<void> {
  if (!row.approvalTs) {
    const [queued] = await tx
      .select({ id: slackOutbox.id })
      .from(slackOutbox)
      .where(and(eq(slackOutbox.dedupeKey, cardKey(row.version)), ne(slackOutbox.state, "failed")));
    if (!queued) return;
  }
  const subject = subjectOf(row.version);
  await queueMessage(tx, {
    subject,
    mode: "edit",
    dedupeKey: `routing-v${row.version}-decided`,
    ...renderApprovalCard(row),
  });
  await queueMessage(tx, {
    subject,
    mode: "reply",
    dedupeKey: `routing-v${row.version}-decided-note`,
    text: note,
  });
}

/** Where a version's approval card went, for the outbox relay; audited once. */
export function approvalCardBinding(
  deps: Pick<Deps, "db" | "clock">,
): SubjectBinding<SubjectOf<"routing_version">> {
  return {
    async record(subject, at) {
      await deps.db.transaction(async (tx) => {
        const [updated] = await tx
          .update(routingVersions)
          .set({ approvalChannel: at.channel, approvalTs: at.ts })
          .where(and(eq(routingVersions.version, subject.id), isNull(routingVersions.approvalTs)))
          .returning({ version: routingVersions.version });
        if (!updated) return;
        await recordAudit(tx, {
          actor: SYSTEM_ACTOR,
          source: "routing",
          action: "routing.card_posted",
          details: { version: subject.id, channel: at.channel, ts: at.ts },
          at: deps.clock.now(),
        });
      });
    },
    async locate(subject) {
      const [row] = await deps.db
        .select({ channel: routingVersions.approvalChannel, ts: routingVersions.approvalTs })
        .from(routingVersions)
        .where(eq(routingVersions.version, subject.id));
      return row?.channel && row.ts ? { channel: row.channel, ts: row.ts } : undefined;
    },
  };
}

function decisionNote(row: VersionRow): string {
  switch (row.status) {
    case "active":
      return `:white_check_mark: Approved by ${author(row.decidedBy)}; v${row.version} is active.`;
    case "rejected":
      return `:x: ${row.decidedBy === row.author ? "Withdrawn" : "Rejected"} by ${author(row.decidedBy)}: ${escapeMrkdwn(row.decisionNote ?? "")}`;
    default:
      return `v${row.version} is ${row.status}.`;
  }
}
