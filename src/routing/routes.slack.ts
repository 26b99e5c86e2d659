/**
 * `/inventory routes …` and the routing review's buttons and modals. Listeners ack first, parse
 * what Slack sent, and call one service; the services check who may do what against the
 * active version, under the routing lock.
 */
import type { App, RespondArguments } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import { z } from "zod";
import type { Deps } from "../app/deps.js";
import { escapeMrkdwn } from "../platform/slack/mrkdwn.js";
import { ROUTING_ACTIONS } from "./approval-card.js";
import { breakGlassRollback } from "./break-glass.service.js";
import { approveProposal, rejectionVerdict, rejectProposal } from "./decisions.service.js";
import { checkProposalText } from "./proposal-check.js";
import {
  answerTest,
  parseRoutesCommand,
  ROUTES_HELP,
  type RoutesCommand,
  testEvent,
} from "./routes-command.js";
import {
  issueList,
  overviewText,
  PROPOSE_VIEW,
  proposeView,
  REJECT_VIEW,
  rejectView,
  resultView,
  testText,
  versionBlocks,
} from "./routes-views.js";
import {
  activeVersion,
  pendingProposals,
  recentVersions,
  versionByNumber,
} from "./versions.repo.js";
import {
  configOf,
  type ProposeResult,
  proposeChange,
  proposeRollback,
} from "./versions.service.js";

export interface RoutesCommandInput {
  userId: string;
  /** What follows `routes`, e.g. `test client=acme`, `rollback 3 --break-glass db outage`. */
  text: string;
  triggerId: string;
  respond: (message: RespondArguments) => Promise<unknown>;
  client: WebClient;
}

export async function handleRoutesCommand(deps: Deps, input: RoutesCommandInput): Promise<void> {
  const say = (text: string, blocks?: object[]) =>
    input.respond({
      response_type: "ephemeral",
      text,
      ...(blocks ? { blocks: blocks as never } : {}),
    });
  const parsed = parseRoutesCommand(input.text);
  if (!parsed.ok) {
    await say(`${parsed.error}\n${ROUTES_HELP}`);
    return;
  }
  const active = await activeVersion(deps.db);
  if (!active || deps.routing.current().version === null) {
    await say("Routing in this process comes straight from a file, not from versions in Postgres.");
    return;
  }
  await runCommand(deps, input, parsed.command, active, say);
}

async function runCommand(
  deps: Deps,
  input: RoutesCommandInput,
  command: RoutesCommand,
  active: NonNullable<Awaited<ReturnType<typeof activeVersion>>>,
  say: (text: string, blocks?: object[]) => Promise<unknown>,
): Promise<void> {
  switch (command.kind) {
    case "help":
      await say(ROUTES_HELP);
      return;
    case "status":
      await say(
        overviewText(active, await pendingProposals(deps.db), await recentVersions(deps.db, 5)),
      );
      return;
    case "show": {
      const row = await versionByNumber(deps.db, command.version);
      if (!row) await say(`There is no routing v${command.version}.`);
      else await say(`Routing v${row.version} (${row.status})`, versionBlocks(row));
      return;
    }
    case "test": {
      const event = testEvent(command.fields);
      const answers = [
        { label: `v${active.version} (active)`, answer: answerTest(configOf(active), event) },
      ];
      for (const row of await pendingProposals(deps.db))
        answers.push({
          label: `v${row.version} (proposed)`,
          answer: answerTest(configOf(row), event),
        });
      await say(testText(command.fields as Record<string, string>, answers));
      return;
    }
    case "propose":
      await input.client.views.open({
        trigger_id: input.triggerId,
        view: proposeView(active) as never,
      });
      return;
    case "rollback": {
      if (command.breakGlass) {
        if (!command.reason.trim()) {
          await say(
            "Break-glass needs a reason: `/inventory routes rollback <version> --break-glass <reason>`.",
          );
          return;
        }
        const result = await breakGlassRollback(deps, {
          toVersion: command.version,
          actor: input.userId,
          reason: command.reason,
          via: "slack",
        });
        await say(
          result.ok
            ? `:rotating_light: v${result.row.version} (the text of v${command.version}) is active now, by break-glass. This is flagged in the audit and the next checklist.`
            : result.message,
        );
        return;
      }
      const result = await proposeRollback(deps, {
        toVersion: command.version,
        author: input.userId,
        reason: command.reason,
        via: "slack",
      });
      await say(proposalAnswer(deps, result));
      return;
    }
  }
}

function proposalAnswer(deps: Deps, result: ProposeResult): string {
  if (result.ok) {
    const where = deps.approvalsChannel
      ? `posted for review in <#${deps.approvalsChannel}>`
      : "listed by `/inventory routes` for review";
    const warnings = result.review.warnings.length
      ? `\n:warning: ${result.review.warnings.length} warning(s):\n${escapeMrkdwn(issueList(result.review.warnings, 1500))}`
      : "";
    return `:inbox_tray: Proposed as *v${result.row.version}*, ${where}.${warnings}`;
  }
  if (result.kind === "invalid")
    return `:x: Not proposed: ${result.errors.length} problem(s):\n${escapeMrkdwn(issueList(result.errors, 2500))}`;
  return result.message;
}

const viewValues = z.object({
  yaml: z.object({ text: z.object({ value: z.string().nullish() }) }),
  reason: z.object({ text: z.object({ value: z.string().nullish() }) }),
});
const rejectValues = z.object({
  reason: z.object({ text: z.object({ value: z.string().nullish() }) }),
});
const rejectMeta = z.object({
  version: z.number().int().positive(),
  channel: z.string().nullable(),
});
const versionValue = z.coerce.number().int().positive();

export function registerRoutingListeners(app: App, deps: Deps): void {
  app.view(PROPOSE_VIEW, async ({ ack, body, view, client }) => {
    const values = viewValues.safeParse(view.state.values);
    const text = values.success ? (values.data.yaml.text.value ?? "") : "";
    const reason = values.success ? (values.data.reason.text.value ?? "").trim() : "";
    if (!reason) {
      await ack({
        response_action: "errors",
        errors: { reason: "Say why: reviewers and the audit read it." },
      });
      return;
    }
    const active = await activeVersion(deps.db);
    const local = checkProposalText(text, "proposal", active ? configOf(active) : null);
    if (!local.ok) {
      await ack({ response_action: "errors", errors: { yaml: issueList(local.errors) } });
      return;
    }
    await ack({
      response_action: "update",
      view: resultView(
        "Checking…",
        "Checking channels, people and user groups with Slack…",
      ) as never,
    });
    const result = await proposeChange(deps, { text, author: body.user.id, reason, via: "slack" });
    await client.views
      .update({
        view_id: view.id,
        view: resultView(
          result.ok ? `Proposed v${result.row.version}` : "Not proposed",
          proposalAnswer(deps, result),
        ) as never,
      })
      .catch((error: unknown) =>
        deps.logger.warn({ err: error }, "could not show the proposal result"),
      );
  });

  app.action(ROUTING_ACTIONS.approve, async ({ ack, body, action, respond }) => {
    await ack();
    const version = versionValue.safeParse((action as { value?: unknown }).value);
    if (!version.success) return;
    const result = await approveProposal(deps, {
      version: version.data,
      actor: body.user.id,
      via: "slack",
    });
    const text = result.ok
      ? `:white_check_mark: v${result.row.version} is active.${result.moved.length ? ` ${result.moved.length} open exception(s) moved to their new roles.` : ""}`
      : result.message;
    await respond({ response_type: "ephemeral", replace_original: false, text });
  });

  app.action(ROUTING_ACTIONS.reject, async ({ ack, body, action, client }) => {
    await ack();
    const version = versionValue.safeParse((action as { value?: unknown }).value);
    if (!version.success || !("trigger_id" in body)) return;
    const channel = "channel" in body && body.channel ? (body.channel as { id: string }).id : null;
    await client.views.open({
      trigger_id: body.trigger_id,
      view: rejectView(version.data, channel) as never,
    });
  });

  app.view(REJECT_VIEW, async ({ ack, body, view, client }) => {
    const meta = rejectMeta.safeParse(safeJson(view.private_metadata));
    const values = rejectValues.safeParse(view.state.values);
    const reason = values.success ? (values.data.reason.text.value ?? "").trim() : "";
    if (!meta.success) {
      await ack();
      return;
    }
    if (!reason) {
      await ack({ response_action: "errors", errors: { reason: "A rejection needs a reason." } });
      return;
    }
    const verdict = await rejectionVerdict(deps, {
      version: meta.data.version,
      actor: body.user.id,
    });
    if (!verdict.ok) {
      await ack({ response_action: "errors", errors: { reason: verdict.message } });
      return;
    }
    await ack();
    const result = await rejectProposal(deps, {
      version: meta.data.version,
      actor: body.user.id,
      reason,
      via: "slack",
    });
    if (!result.ok && meta.data.channel) {
      await client.chat
        .postEphemeral({ channel: meta.data.channel, user: body.user.id, text: result.message })
        .catch((error: unknown) => deps.logger.warn({ err: error }, "could not tell the rejecter"));
    }
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
