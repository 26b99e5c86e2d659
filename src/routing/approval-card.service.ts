/**
 * Tells Slack about routing decisions, after they are committed: the approval card in
 * APPROVALS_CHANNEL, its thread, break-glass alarms, and the cards of exceptions a version moved.
 * A Slack failure here is logged; the decision stands and `/inventory routes` still shows it.
 */
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.js";
import { exceptionLabel } from "../exceptions/card.js";
import { syncCard } from "../exceptions/cards.js";
import type { Deps } from "../platform/deps.js";
import { enqueue } from "../platform/queue/queues.js";
import { escapeMrkdwn } from "../platform/slack/mrkdwn.js";
import { armSla } from "../sla/sla-timers.js";
import { author, renderApprovalCard } from "./approval-card.js";
import type { MovedException } from "./orphans.service.js";
import { setApprovalMessage, type VersionRow } from "./versions.repo.js";

export async function postApprovalCard(deps: Deps, row: VersionRow): Promise<void> {
  const channel = deps.approvalsChannel;
  if (!channel) return;
  try {
    const card = renderApprovalCard(row);
    const posted = await deps.slack.chat.postMessage({
      channel,
      text: card.text,
      blocks: card.blocks as never,
      unfurl_links: false,
    });
    if (!posted.ts) throw new Error("chat.postMessage returned no ts");
    const at = posted.channel ?? channel;
    await setApprovalMessage(deps.db, row.version, at, posted.ts);
    row.approvalChannel = at;
    row.approvalTs = posted.ts;
    await recordAudit(deps.db, {
      actor: SYSTEM_ACTOR,
      source: "routing",
      action: "routing.card_posted",
      details: { version: row.version, channel: at, ts: posted.ts },
      at: deps.clock.now(),
    });
  } catch (error) {
    deps.logger.warn(
      { version: row.version, err: error },
      "could not post the routing approval card",
    );
  }
}

/** Redraws the card of a decided version and notes the decision in its thread. */
export async function announceDecision(
  deps: Deps,
  row: VersionRow,
  outdated: VersionRow[],
): Promise<void> {
  await refreshCard(deps, row, decisionNote(row));
  for (const stale of outdated)
    await refreshCard(deps, stale, `:zzz: Outdated: v${row.version} was activated first.`);
  if (row.breakGlass && deps.approvalsChannel) {
    await safely(deps, row.version, () =>
      deps.slack.chat.postMessage({
        channel: deps.approvalsChannel as string,
        text: `:rotating_light: Break-glass: ${author(row.decidedBy)} activated routing v${row.version} (rollback to v${row.rollbackOf}) without review. Reason: ${escapeMrkdwn(row.reason)}`,
        unfurl_links: false,
      }),
    );
  }
}

async function refreshCard(deps: Deps, row: VersionRow, note: string): Promise<void> {
  const { approvalChannel: channel, approvalTs: ts } = row;
  if (!channel || !ts) return;
  const card = renderApprovalCard(row);
  await safely(deps, row.version, async () => {
    await deps.slack.chat.update({ channel, ts, text: card.text, blocks: card.blocks as never });
    await deps.slack.chat.postMessage({ channel, thread_ts: ts, text: note, unfurl_links: false });
  });
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

/** Old cards say where the exception went; the new owner's channel gets a fresh card. */
export async function announceMoves(
  deps: Deps,
  moved: MovedException[],
  version: number,
): Promise<void> {
  for (const move of moved) {
    if (move.oldCardTs) {
      const text = `:arrow_right: ${exceptionLabel(move.id)} moved to *${escapeMrkdwn(move.toRole)}* (<#${move.toChannel}>): role ${escapeMrkdwn(move.fromRole)} was removed by routing v${version}.`;
      await safely(deps, version, () =>
        deps.slack.chat.update({
          channel: move.fromChannel,
          ts: move.oldCardTs as string,
          text,
          blocks: [{ type: "section", text: { type: "mrkdwn", text } }] as never,
        }),
      );
    }
    try {
      await syncCard(deps, move.id);
    } catch (error) {
      deps.logger.warn(
        { exceptionId: move.id, err: error },
        "card of a moved exception not posted; queued",
      );
      await enqueue(deps.queues, "cards.sync", { exceptionId: move.id }).catch(
        (queueError: unknown) =>
          deps.logger.error({ exceptionId: move.id, err: queueError }, "could not queue the card"),
      );
    }
    // The new role's SLA policy applies from now on: its deadlines, its managers.
    await armSla(deps, move.id);
  }
}

async function safely(deps: Deps, version: number, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    deps.logger.warn({ version, err: error }, "Slack call about a routing decision failed");
  }
}
