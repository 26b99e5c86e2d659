/**
 * The storm card's buttons and the Resolve all modal. Listeners ack first, parse what Slack
 * sent as untrusted (the storm id in a value is checked against the channel it came from),
 * check who may act through the service, and answer the clicker.
 */

import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import type { Deps } from "../app/deps.js";
import { ROOT_CAUSE_LABELS } from "../exceptions/card.js";
import { actorOf, cardChannel, resolveSubmission, tell } from "../exceptions/exceptions.slack.js";
import { ROOT_CAUSES } from "../platform/db/schema.js";
import { BEFORE_ACK_DELAYS_MS, COULD_NOT, clickWork } from "../platform/slack/click-work.js";
import { modalMetadata, parseJson, rowIdValue } from "../platform/slack/values.js";
import { STORM_ACTIONS } from "./storm-card.js";
import { stormLabel } from "./storm-key.js";
import { plainStormRefusal, stormRefusalMessage } from "./storms.messages.js";
import { unresolvedMembers } from "./storms.repo.js";
import { authorizeStorm, claimStorm, resolveStorm, retryAllInStorm } from "./storms.service.js";

export const STORM_RESOLVE_CALLBACK = "storm.resolve.submit";

const stormIdValue = rowIdValue;

const resolveMetadata = modalMetadata("stormId");

export function registerStormListeners(app: App, deps: Deps): void {
  const simple = [
    [STORM_ACTIONS.claim, claimStorm],
    [STORM_ACTIONS.retryAll, retryAllInStorm],
  ] as const;
  for (const [actionId, service] of simple) {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const id = stormIdValue.safeParse(action.value);
      if (!id.success) return tell(respond, "That button is not one of mine. Nothing was changed.");
      const result = await clickWork(deps.logger, { stormId: id.data, action: actionId }, () =>
        service(deps, {
          stormId: id.data,
          actor: actorOf(body),
          expectedChannel: cardChannel(body),
        }),
      );
      if (!result) await tell(respond, COULD_NOT);
      else if (!result.ok) await tell(respond, stormRefusalMessage(result.refusal));
    });
  }

  app.action<BlockAction<ButtonAction>>(
    STORM_ACTIONS.resolveAll,
    async ({ ack, body, action, respond, client }) => {
      await ack();
      const id = stormIdValue.safeParse(action.value);
      if (!id.success) return tell(respond, "That button is not one of mine. Nothing was changed.");
      const channel = cardChannel(body);
      const auth = await authorizeStorm(deps, {
        stormId: id.data,
        actor: actorOf(body),
        expectedChannel: channel,
      }).catch((error: unknown) => {
        deps.logger.error({ err: error, stormId: id.data }, "Resolve all click failed");
        return null;
      });
      if (!auth) return tell(respond, COULD_NOT);
      if (!auth.ok) return tell(respond, stormRefusalMessage(auth.refusal));
      const open = await unresolvedMembers(deps.db, auth.storm.id);
      if (!open) {
        return tell(respond, stormRefusalMessage({ reason: "all_resolved", stormId: id.data }));
      }
      const subject = `${auth.storm.client} · ${auth.storm.targetSystem} · ${auth.storm.failureMode}`;
      await client.views.open({
        trigger_id: body.trigger_id,
        view: resolveAllModal(auth.storm.id, subject, open, channel),
      });
    },
  );

  app.view(STORM_RESOLVE_CALLBACK, async ({ ack, body, view }) => {
    const meta = parseJson(resolveMetadata, view.private_metadata);
    if (!meta) {
      await ack({
        response_action: "errors",
        errors: { note: "This form has expired; open it again from the storm card." },
      });
      return;
    }
    const values = view.state.values;
    const submitted = resolveSubmission.safeParse({
      note: values.note?.value?.value ?? "",
      rootCause: values.root_cause?.value?.selected_option?.value,
    });
    if (!submitted.success) {
      const errors: Record<string, string> = {};
      for (const issue of submitted.error.issues) {
        errors[issue.path[0] === "rootCause" ? "root_cause" : "note"] = issue.message;
      }
      await ack({ response_action: "errors", errors });
      return;
    }
    const result = await clickWork(
      deps.logger,
      { stormId: meta.stormId, action: "resolve_all" },
      () =>
        resolveStorm(deps, {
          stormId: meta.stormId,
          actor: actorOf(body),
          expectedChannel: meta.channel,
          note: submitted.data.note,
          rootCause: submitted.data.rootCause,
        }),
      BEFORE_ACK_DELAYS_MS,
    );
    if (!result?.ok) {
      const note = result ? plainStormRefusal(result.refusal) : COULD_NOT;
      await ack({ response_action: "errors", errors: { note } });
      return;
    }
    await ack();
  });
}

function resolveAllModal(
  stormId: number,
  subject: string,
  members: number,
  channel: string | undefined,
) {
  return {
    type: "modal" as const,
    callback_id: STORM_RESOLVE_CALLBACK,
    private_metadata: JSON.stringify({ stormId, ...(channel ? { channel } : {}) }),
    title: { type: "plain_text" as const, text: `Resolve ${stormLabel(stormId)}`.slice(0, 24) },
    submit: { type: "plain_text" as const, text: "Resolve all" },
    close: { type: "plain_text" as const, text: "Cancel" },
    blocks: [
      {
        type: "context",
        elements: [
          {
            type: "plain_text",
            text: `${subject} · ${members} unresolved member${members === 1 ? "" : "s"}: each gets this note.`.slice(
              0,
              2000,
            ),
          },
        ],
      },
      {
        type: "input",
        block_id: "note",
        label: { type: "plain_text", text: "What was done" },
        element: {
          type: "plain_text_input",
          action_id: "value",
          multiline: true,
          max_length: 2000,
          placeholder: {
            type: "plain_text",
            text: "e.g. The ERP rate limit was raised; the feed was re-sent",
          },
        },
      },
      {
        type: "input",
        block_id: "root_cause",
        label: { type: "plain_text", text: "Root cause" },
        element: {
          type: "static_select",
          action_id: "value",
          options: ROOT_CAUSES.map((cause) => ({
            text: { type: "plain_text", text: ROOT_CAUSE_LABELS[cause] },
            value: cause,
          })),
        },
      },
    ],
  };
}
