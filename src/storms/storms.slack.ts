/**
 * The storm card's buttons and the Resolve all modal. Listeners ack first, parse what Slack
 * sent as untrusted (the storm id in a value is checked against the channel it came from),
 * check who may act through the service, and answer the clicker.
 */

import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import type { Deps } from "../app/deps.js";
import {
  actorOf,
  cardChannel,
  readResolveForm,
  resolveFormView,
  tell,
} from "../exceptions/exceptions.slack.js";
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
    const submitted = readResolveForm(values);
    if (!submitted.ok) {
      await ack({ response_action: "errors", errors: submitted.errors });
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
          note: submitted.value.note,
          rootCause: submitted.value.rootCause,
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
  return resolveFormView({
    callbackId: STORM_RESOLVE_CALLBACK,
    metadata: { stormId, ...(channel ? { channel } : {}) },
    title: `Resolve ${stormLabel(stormId)}`,
    submit: "Resolve all",
    context: `${subject} · ${members} unresolved member${members === 1 ? "" : "s"}: each gets this note.`,
    example: "e.g. The ERP rate limit was raised; the feed was re-sent",
  });
}
