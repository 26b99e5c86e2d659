/**
 * Card buttons and the resolve modal. Listeners ack first, parse what Slack sent as untrusted,
 * call one service function and answer the clicker; the service checks who may act.
 */

import { randomUUID } from "node:crypto";
import type {
  App,
  BlockAction,
  ButtonAction,
  RespondFn,
  SlackViewMiddlewareArgs,
} from "@slack/bolt";
import { z } from "zod";
import type { Deps } from "../app/deps.js";
import { ROOT_CAUSES } from "../platform/db/schema.js";
import { BEFORE_ACK_DELAYS_MS, COULD_NOT, clickWork } from "../platform/slack/click-work.js";
import { plainWithNames } from "../platform/slack/directory.js";
import { queueDirectMessage } from "../platform/slack/outbox-message.js";
import { modalMetadata, parseJson, rowIdValue } from "../platform/slack/values.js";
import { standingIn } from "./authorization.js";
import { ACTIONS, exceptionLabel, ROOT_CAUSE_LABELS } from "./card.js";
import {
  actRefusalMessage,
  notFoundMessage,
  outsiderMessage,
  refusalMessage,
} from "./exceptions.messages.js";
import { findException } from "./exceptions.repo.js";
import {
  type ActInput,
  type Actor,
  actOnException,
  type HumanAction,
  holding,
} from "./exceptions.service.js";
import { transition } from "./state-machine.js";

export const RESOLVE_CALLBACK = "exception.resolve.submit";

const exceptionIdValue = rowIdValue;

const resolveMetadata = modalMetadata("exceptionId");

export const resolveSubmission = z.object({
  note: z.string().trim().min(3, "Say in a few words what was done.").max(2000),
  rootCause: z.enum(ROOT_CAUSES, "Pick a root cause."),
});

export function actorOf(body: { user: { id: string; name?: string; username?: string } }): Actor {
  return { userId: body.user.id, name: body.user.username ?? body.user.name ?? body.user.id };
}

/**
 * The channel of the card that was clicked; DMs, App Home and ephemeral lists (`/inventory
 * mine`, shown in whatever channel it was run in) are not a card and carry no channel to check.
 */
export function cardChannel(body: BlockAction): string | undefined {
  if (body.container?.is_ephemeral) return undefined;
  const id = body.channel?.id ?? body.container?.channel_id;
  return id && /^[CG]/.test(id) ? id : undefined;
}

export async function tell(respond: RespondFn, text: string): Promise<void> {
  await respond({ response_type: "ephemeral", replace_original: false, text });
}

/**
 * Clicks on the App Home tab come without a response_url, so Bolt gives no respond(): answer
 * the clicker in their DM with the app instead, through the outbox like every other Slack
 * write (paced with that DM, never ahead of another channel's cards).
 */
export function respondOrDm(
  deps: Pick<Deps, "db">,
  body: { user: { id: string } },
  respond: RespondFn | undefined,
): RespondFn {
  if (respond) return respond;
  const dm = async (message: string | { text?: string }) => {
    const text = typeof message === "string" ? message : (message.text ?? "");
    if (text.trim() !== "") {
      await queueDirectMessage(deps.db, {
        user: body.user.id,
        dedupeKey: `reply-${body.user.id}-${randomUUID()}`,
        text,
      });
    }
    return undefined as never;
  };
  return dm as RespondFn;
}

export function registerExceptionListeners(app: App, deps: Deps): void {
  const simple: [string, HumanAction][] = [
    [ACTIONS.claim, { kind: "claim" }],
    [ACTIONS.unclaim, { kind: "unclaim" }],
    [ACTIONS.retry, { kind: "retry" }],
  ];
  for (const [actionId, action] of simple) {
    app.action<BlockAction<ButtonAction>>(
      actionId,
      async ({ ack, body, action: button, respond: slackRespond }) => {
        await ack();
        const respond = respondOrDm(deps, body, slackRespond);
        const id = exceptionIdValue.safeParse(button.value);
        if (!id.success)
          return tell(respond, "That button is not one of mine. Nothing was changed.");
        const result = await clickWork(
          deps.logger,
          { exceptionId: id.data, action: action.kind },
          () =>
            actOnException(deps, {
              exceptionId: id.data,
              actor: actorOf(body),
              action,
              expectedChannel: cardChannel(body),
            }),
        );
        // The change and its audit row share a transaction, so a failure left nothing behind.
        if (!result) return tell(respond, COULD_NOT);
        if (!result.ok) await tell(respond, actRefusalMessage(result.refusal));
        // Clicked in a list, not on the card: the list is drawn again (no stale buttons), or
        // where it cannot be, the clicker is told it worked.
        else if (body.container?.is_ephemeral) {
          const redrawn = await deps.exceptionEffects
            .redrawList?.(body.user.id, button.block_id)
            .catch((error: unknown) => {
              deps.logger.warn({ err: error }, "could not redraw the list");
              return null;
            });
          if (redrawn && slackRespond) {
            await slackRespond({
              response_type: "ephemeral",
              replace_original: true,
              text: redrawn.text,
              blocks: redrawn.blocks as never,
            });
          } else {
            await tell(
              respond,
              `:white_check_mark: ${exceptionLabel(id.data)}: done. Its card is up to date.`,
            );
          }
        }
      },
    );
  }

  app.action<BlockAction<ButtonAction>>(
    ACTIONS.resolve,
    async ({ ack, body, action, respond: slackRespond, client }) => {
      await ack();
      const respond = respondOrDm(deps, body, slackRespond);
      const id = exceptionIdValue.safeParse(action.value);
      if (!id.success) return tell(respond, "That button is not one of mine. Nothing was changed.");
      const row = await findException(deps.db, id.data);
      const channel = cardChannel(body);
      if (!row || (channel && row.channel !== channel)) {
        return tell(respond, notFoundMessage(id.data));
      }
      const { standing } = await standingIn(deps, row.role, body.user.id);
      if (standing === "outsider") {
        return tell(respond, outsiderMessage(row.role, `resolve ${exceptionLabel(row.id)}`, false));
      }
      // Asked now, so a stale or held card is refused (saying who did what) before anyone
      // types a note; the submission asks again under the row lock.
      const allowed = transition(holding(row), {
        kind: "resolve",
        actor: body.user.id,
        isManager: standing === "manager",
        note: "",
        rootCause: "other",
      });
      if (!allowed.ok) return tell(respond, refusalMessage(exceptionLabel(row.id), allowed));
      await client.views.open({
        trigger_id: body.trigger_id,
        view: resolveModal(row.id, `${row.client} · ${row.sku}`, channel),
      });
    },
  );

  app.view(RESOLVE_CALLBACK, async ({ ack, body, view }) => {
    const meta = parseJson(resolveMetadata, view.private_metadata);
    const values = view.state.values;
    const submitted = readResolveForm(values);
    if (!meta) {
      await ack({
        response_action: "errors",
        errors: { note: "This form has expired; open it again from the card." },
      });
      return;
    }
    if (!submitted.ok) {
      await ack({ response_action: "errors", errors: submitted.errors });
      return;
    }
    const input: ActInput = {
      exceptionId: meta.exceptionId,
      actor: actorOf(body),
      action: { kind: "resolve", note: submitted.value.note, rootCause: submitted.value.rootCause },
      expectedChannel: meta.channel,
    };
    await actFromModal(deps, ack, input, "note");
  });
}

/**
 * A modal's submission through the door: the ack closes the modal, or shows why nothing
 * changed under the field named (plain text, with people's names).
 */
export async function actFromModal(
  deps: Deps,
  ack: SlackViewMiddlewareArgs["ack"],
  input: ActInput,
  field: string,
): Promise<void> {
  const result = await clickWork(
    deps.logger,
    { exceptionId: input.exceptionId, action: input.action.kind },
    () => actOnException(deps, input),
    BEFORE_ACK_DELAYS_MS,
  );
  if (!result?.ok) {
    const text = result ? actRefusalMessage(result.refusal) : COULD_NOT;
    await ack({
      response_action: "errors",
      errors: { [field]: await plainWithNames(deps.directory, text) },
    });
    return;
  }
  await ack();
}

function resolveModal(exceptionId: number, subject: string, channel: string | undefined) {
  return resolveFormView({
    callbackId: RESOLVE_CALLBACK,
    metadata: { exceptionId, ...(channel ? { channel } : {}) },
    title: `Resolve ${exceptionLabel(exceptionId)}`,
    submit: "Resolve",
    context: subject,
    example: "e.g. Re-mapped the size attribute and re-sent the feed",
  });
}

/** The resolve form's answers, or the errors to show under its fields. */
export function readResolveForm(
  values: SlackViewMiddlewareArgs["view"]["state"]["values"],
):
  | { ok: true; value: z.infer<typeof resolveSubmission> }
  | { ok: false; errors: Record<string, string> } {
  const submitted = resolveSubmission.safeParse({
    note: values.note?.value?.value ?? "",
    rootCause: values.root_cause?.value?.selected_option?.value,
  });
  if (submitted.success) return { ok: true, value: submitted.data };
  const errors: Record<string, string> = {};
  for (const issue of submitted.error.issues) {
    errors[issue.path[0] === "rootCause" ? "root_cause" : "note"] = issue.message;
  }
  return { ok: false, errors };
}

/** The resolve form (what was done, root cause) of a card or of a whole storm. */
export function resolveFormView(form: {
  callbackId: string;
  metadata: Record<string, unknown>;
  title: string;
  submit: string;
  context: string;
  example: string;
}) {
  return {
    type: "modal" as const,
    callback_id: form.callbackId,
    private_metadata: JSON.stringify(form.metadata),
    title: { type: "plain_text" as const, text: form.title.slice(0, 24) },
    submit: { type: "plain_text" as const, text: form.submit },
    close: { type: "plain_text" as const, text: "Cancel" },
    blocks: [
      { type: "context", elements: [{ type: "plain_text", text: form.context.slice(0, 2000) }] },
      {
        type: "input",
        block_id: "note",
        label: { type: "plain_text", text: "What was done" },
        element: {
          type: "plain_text_input",
          action_id: "value",
          multiline: true,
          max_length: 2000,
          placeholder: { type: "plain_text", text: form.example },
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
