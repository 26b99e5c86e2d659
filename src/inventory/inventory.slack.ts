/** `/inventory`: status for owners and help; every answer is ephemeral to the person asking. */
import type { App } from "@slack/bolt";
import { exceptionLabel } from "../exceptions/card.js";
import type { Deps } from "../platform/deps.js";
import { escapeMrkdwn, mrkdwnLink, slackDate } from "../platform/slack/mrkdwn.js";
import { handleRoutesCommand } from "../routing/routes.slack.js";
import { openByRole, rejectedSince } from "./status.repo.js";

export const HELP_TEXT = [
  "*syncdesk* keeps inventory sync failures from being ignored.",
  "• `/inventory status` — open exceptions per role and state, and the oldest unclaimed one",
  "• `/inventory routes` — routing versions, review and rollback (`/inventory routes help`)",
  "• `/inventory help` — this message",
  "Cards arrive in each role's channel; use their buttons to claim, retry or resolve.",
].join("\n");

export function registerInventoryCommand(app: App, deps: Deps): void {
  app.command("/inventory", async ({ ack, command, respond, client }) => {
    await ack();
    const [sub = "help", ...rest] = command.text.trim().split(/\s+/).filter(Boolean);
    if (sub === "routes") {
      await handleRoutesCommand(deps, {
        userId: command.user_id,
        text: command.text.trim().slice("routes".length),
        triggerId: command.trigger_id,
        respond,
        client,
      });
      return;
    }
    let text: string;
    if (sub === "help") text = HELP_TEXT;
    else if (sub === "status" && rest.length === 0) text = await statusText(deps);
    else
      text = `I don't know \`${escapeMrkdwn(command.text.trim().slice(0, 100))}\`.\n${HELP_TEXT}`;
    await respond({ response_type: "ephemeral", text });
  });
}

export async function statusText(deps: Deps): Promise<string> {
  const roles = await openByRole(deps.db);
  const rejected = await rejectedSince(
    deps.db,
    new Date(deps.clock.now().getTime() - 24 * 3600_000),
  );
  const lines = ["*Inventory sync exceptions*"];
  if (roles.length === 0)
    lines.push(":white_check_mark: Nothing open. Every sync failure is resolved.");
  for (const role of roles) {
    lines.push(
      `*${escapeMrkdwn(role.role)}*: ${role.open} open · ${role.claimed} claimed · ${role.retrying} retrying`,
    );
    const oldest = role.oldestUnclaimed;
    if (oldest) {
      const label = `${exceptionLabel(oldest.id)} ${oldest.client} ${oldest.sku}`;
      const link = await permalink(deps, oldest.channel, oldest.cardTs);
      lines.push(
        `   oldest unclaimed: ${link ? mrkdwnLink(link, label) : escapeMrkdwn(label)} since ${slackDate(oldest.openedAt)}`,
      );
    }
  }
  lines.push(
    `Rejected events in the last 24 h: ${rejected.total} (${rejected.unreviewed} not reviewed)`,
  );
  return lines.join("\n");
}

async function permalink(deps: Deps, channel: string, ts: string | null): Promise<string | null> {
  if (!ts) return null;
  try {
    const result = await deps.slack.chat.getPermalink({ channel, message_ts: ts });
    return result.permalink ?? null;
  } catch {
    return null;
  }
}
