/**
 * `/inventory` and the App Home tab. The command acks at once (Slack's 3 seconds), then reads
 * and answers through `response_url`, ephemeral to the person asking. Arguments are parsed
 * strictly; anything unknown gets what was wrong and how to ask.
 */
import type { App } from "@slack/bolt";
import type { Deps } from "../app/deps.js";
import { pipelinesAnswer } from "../deliveries/pipelines.slack.js";
import { exceptionLabel } from "../exceptions/card.js";
import { actRefusalMessage } from "../exceptions/exceptions.messages.js";
import { actOnException } from "../exceptions/exceptions.service.js";
import { reconAnswer } from "../recon/recon.slack.js";
import { handleRoutesCommand } from "../routing/routes.slack.js";
import { renderChecklist } from "./checklist.view.js";
import { type InventoryCommand, parseInventoryCommand } from "./command-args.js";
import { openHome } from "./home.service.js";
import { checklistLines, mineReport, statusReport } from "./inventory.service.js";
import { linkerFor } from "./links.js";
import { renderMine } from "./queue.view.js";
import { type Message, renderStatus } from "./status.view.js";

const COMMAND_LINES = [
  "• `/inventory status [client] [role] [vertical=…] [since]` — what is open per role, the oldest unclaimed, time to claim and resolve, breach rate, what fails most. `since` is a window like `24h`, `7d` or `2w` (default 7d, at most 30d).",
  "    e.g. `/inventory status` · `/inventory status acme` · `/inventory status ads-ops 24h` · `/inventory status acme ads-ops 30d` · `/inventory status vertical=apparel` · `/inventory status client=ads-ops`",
  "• `/inventory mine` — what you hold and what is about to breach in your roles, with the card buttons",
  "• `/inventory claim EX-12 [reason]` · `/inventory unclaim EX-12 [reason]` — the card's Claim or Unclaim, with why (kept in the audit and said in the thread)",
  "• `/inventory checklist` — the Monday checklist, checked against live data",
  "• `/inventory pipelines [client] [since]` — each pipeline's deliveries, failed-delivery rate, time-to-sync P50/P95/max and MTTR, stale or over budget first (default 24h); `/inventory pipelines <name>` shows one over 1h, 24h, 7d and 30d",
  "• `/inventory recon [client]` — the latest reconciliation runs (each consumer against its source of truth) and refused snapshots; `/inventory recon run <client>` starts one now (managers of the client's owner role and admins)",
  "• `/inventory routes` — routing versions, review and rollback (`/inventory routes help`)",
  "• `/inventory help` — this message",
];

export const HELP_TEXT = [
  "*syncdesk* keeps inventory sync failures from being ignored.",
  ...COMMAND_LINES,
  "Cards arrive in each role's channel; your Home tab lists what you hold.",
].join("\n");

/** Under a command I could not read: what I can do, so nobody has to ask again. */
const USAGE = ["What I can do:", ...COMMAND_LINES].join("\n");

export function registerInventoryCommand(app: App, deps: Deps): void {
  app.command("/inventory", async ({ ack, command, respond, client }) => {
    await ack();
    const { config } = deps.routing.current();
    const roles = Object.keys(config.roles);
    const pipelines = config.pipelines.map((pipeline) => pipeline.name);
    const parsed = parseInventoryCommand(command.text, { roles, pipelines });
    const reply = (message: Message | string) =>
      respond({
        response_type: "ephemeral",
        ...(typeof message === "string"
          ? { text: message }
          : { text: message.text, blocks: message.blocks as never }),
      });
    if (!parsed.ok) {
      await reply(`${parsed.error}\n${USAGE}`);
      return;
    }
    if (parsed.command.kind === "routes") {
      await handleRoutesCommand(deps, {
        userId: command.user_id,
        text: parsed.command.text,
        triggerId: command.trigger_id,
        respond,
        client,
      });
      return;
    }
    const logger = deps.logger.child({ command: parsed.command.kind, userId: command.user_id });
    const started = Date.now();
    try {
      await reply(await answer(deps, parsed.command, command.user_id, command.user_name));
      logger.info({ ms: Date.now() - started }, "/inventory answered");
    } catch (error) {
      logger.error({ err: error }, "/inventory failed");
      await reply("I could not read the figures just now. Nothing is lost; try again in a minute.");
    }
  });

  app.event("app_home_opened", async ({ event }) => {
    if (event.tab !== "home") return;
    try {
      await openHome(deps, event.user);
    } catch (error) {
      deps.logger.error({ userId: event.user, err: error }, "could not publish the Home tab");
    }
  });
}

async function answer(
  deps: Deps,
  command: Exclude<InventoryCommand, { kind: "routes" }>,
  userId: string,
  userName: string,
): Promise<Message | string> {
  switch (command.kind) {
    case "claim":
    case "unclaim": {
      // The card's own door: the same rules, audit row, card refresh and thread note.
      const result = await actOnException(deps, {
        exceptionId: command.exceptionId,
        actor: { userId, name: userName || userId },
        action: { kind: command.kind, ...(command.reason ? { reason: command.reason } : {}) },
      });
      if (!result.ok) return actRefusalMessage(result.refusal);
      const done = command.kind === "claim" ? "claimed; it is yours" : "released; it is open again";
      return `:white_check_mark: ${exceptionLabel(command.exceptionId)} ${done}.${command.reason ? " The reason is in its audit and thread." : ""}`;
    }
    case "help":
      return HELP_TEXT;
    case "status": {
      const [report, link] = await Promise.all([statusReport(deps, command.args), linkerFor(deps)]);
      return renderStatus(report, link);
    }
    case "mine": {
      const [report, link] = await Promise.all([mineReport(deps, userId), linkerFor(deps)]);
      return renderMine(report, link);
    }
    case "pipelines":
      return pipelinesAnswer(deps, command);
    case "recon":
      return reconAnswer(deps, command, userId);
    case "checklist": {
      const [lines, link] = await Promise.all([checklistLines(deps), linkerFor(deps)]);
      return renderChecklist(lines, deps.clock.now(), link);
    }
  }
}
