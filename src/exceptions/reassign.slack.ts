/**
 * Reassign: the holder or a manager hands an exception to another member of its role, from the
 * card or from an SLA DM (a breach DM lets a manager assign unclaimed work too). The button
 * opens a modal listing the role's people; the submit is one hand-off through the service,
 * which checks again who may act and who may receive it. SLA reminders follow the new holder
 * because they are addressed to whoever holds the exception when they fire.
 */

import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import { z } from "zod";
import type { Deps } from "../app/deps.js";
import { escapeMrkdwn, mention, truncate } from "../platform/slack/mrkdwn.js";
import { rowIdValue } from "../platform/slack/values.js";
import type { RoleConfig } from "../routing/routing-file.schema.js";
import { standingIn } from "./authorization.js";
import { ACTIONS, type ExceptionRow, exceptionLabel } from "./card.js";
import { notFoundMessage, outsiderMessage } from "./exceptions.messages.js";
import { findException } from "./exceptions.repo.js";
import type { ActInput } from "./exceptions.service.js";
import { actFromModal, actorOf, cardChannel, tell } from "./exceptions.slack.js";

export const REASSIGN_CALLBACK = "exception.reassign.submit";
const MAX_OPTIONS = 100;

const exceptionIdValue = rowIdValue;
const userIdValue = z.string().regex(/^[UW][A-Z0-9]+$/);
const reassignMetadata = z.strictObject({
  exceptionId: z.number().int().positive(),
  channel: z
    .string()
    .regex(/^[CG][A-Z0-9]+$/)
    .optional(),
});

export function registerReassignListeners(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(
    ACTIONS.reassign,
    async ({ ack, body, action, respond, client }) => {
      await ack();
      const id = exceptionIdValue.safeParse(action.value);
      if (!id.success) return tell(respond, "That button is not one of mine. Nothing was changed.");
      const row = await findException(deps.db, id.data);
      const channel = cardChannel(body);
      const container = body.container?.channel_id ?? body.channel?.id ?? "";
      // From a card: it must be this exception's card. Otherwise only from a DM with the bot.
      const wrongPlace = channel ? row?.channel !== channel : !container.startsWith("D");
      if (!row || wrongPlace) return tell(respond, notFoundMessage(id.data));
      const label = exceptionLabel(row.id);
      if (row.state === "resolved") {
        return tell(respond, `${label} is already resolved. Nothing was changed.`);
      }
      const { standing, role } = await standingIn(deps, row.role, body.user.id);
      if (standing === "outsider" || !role) {
        return tell(respond, outsiderMessage(row.role, `act on ${label}`));
      }
      if (standing !== "manager" && row.claimedBy !== body.user.id) {
        return tell(
          respond,
          row.claimedBy
            ? `${label} is held by ${mention(row.claimedBy)}: only they or a manager of *${escapeMrkdwn(row.role)}* can hand it over.`
            : `${label} is not claimed by anyone: claim it instead, or ask a manager to assign it.`,
        );
      }
      const options = await memberOptions(deps, role, row.claimedBy);
      if (options.length === 0) {
        return tell(
          respond,
          `There is nobody else in *${escapeMrkdwn(row.role)}* to hand ${label} to.`,
        );
      }
      await client.views.open({
        trigger_id: body.trigger_id,
        view: reassignModal(
          row,
          options,
          channel,
          row.claimedBy ? await deps.directory.displayName(row.claimedBy) : null,
        ),
      });
    },
  );

  app.view(REASSIGN_CALLBACK, async ({ ack, body, view }) => {
    const meta = parseMetadata(view.private_metadata);
    if (!meta) {
      await ack({
        response_action: "errors",
        errors: { to: "This form has expired; open it again from the card." },
      });
      return;
    }
    const to = userIdValue.safeParse(view.state.values.to?.value?.selected_option?.value);
    if (!to.success) {
      await ack({ response_action: "errors", errors: { to: "Pick who should take it over." } });
      return;
    }
    const row = await findException(deps.db, meta.exceptionId);
    if (row?.claimedBy === to.data) {
      await ack({ response_action: "errors", errors: { to: "They already hold it." } });
      return;
    }
    const reason = reasonValue.safeParse(view.state.values.reason?.value?.value ?? "");
    if (!reason.success) {
      await ack({
        response_action: "errors",
        errors: { reason: "Keep the reason under 500 characters." },
      });
      return;
    }
    const input: ActInput = {
      exceptionId: meta.exceptionId,
      actor: actorOf(body),
      action: { kind: "reassign", to: to.data, ...(reason.data ? { reason: reason.data } : {}) },
      ...(meta.channel ? { expectedChannel: meta.channel } : {}),
    };
    await actFromModal(deps, ack, input, "to");
  });
}

/** An optional reason, trimmed; empty means none. */
const reasonValue = z.string().trim().max(500);

interface MemberOption {
  userId: string;
  label: string;
}

/** The role's listed members, its user group's members and its managers, minus the holder. */
async function memberOptions(
  deps: Deps,
  role: RoleConfig,
  holder: string | null,
): Promise<MemberOption[]> {
  const group = role.usergroup ? await deps.directory.usergroupMembers(role.usergroup) : new Set();
  const people = [...new Set([...role.members, ...group, ...role.managers])]
    .filter((userId): userId is string => typeof userId === "string" && userId !== holder)
    .slice(0, MAX_OPTIONS);
  return Promise.all(
    people.map(async (userId) => {
      const name = await deps.directory.displayName(userId);
      const suffix = role.managers.includes(userId) ? " (manager)" : "";
      return { userId, label: truncate(`${name}${suffix}`, 75) };
    }),
  );
}

function reassignModal(
  row: ExceptionRow,
  options: MemberOption[],
  channel: string | undefined,
  holderName: string | null,
) {
  const holder = holderName ? `held by ${holderName}` : "not claimed";
  return {
    type: "modal" as const,
    callback_id: REASSIGN_CALLBACK,
    private_metadata: JSON.stringify({ exceptionId: row.id, ...(channel ? { channel } : {}) }),
    title: { type: "plain_text" as const, text: `Reassign ${exceptionLabel(row.id)}`.slice(0, 24) },
    submit: { type: "plain_text" as const, text: "Reassign" },
    close: { type: "plain_text" as const, text: "Cancel" },
    blocks: [
      {
        type: "context",
        elements: [
          {
            type: "plain_text",
            text: truncate(`${row.client} · ${row.sku} · ${row.role} · ${holder}`, 2000),
          },
        ],
      },
      {
        type: "input",
        block_id: "to",
        label: { type: "plain_text", text: "Hand it to" },
        element: {
          type: "static_select",
          action_id: "value",
          placeholder: { type: "plain_text", text: "Pick a member" },
          options: options.map((option) => ({
            text: { type: "plain_text", text: option.label },
            value: option.userId,
          })),
        },
      },
      {
        type: "input",
        block_id: "reason",
        optional: true,
        label: { type: "plain_text", text: "Why (optional)" },
        hint: { type: "plain_text", text: "Kept in the audit and said in the card's thread." },
        element: {
          type: "plain_text_input",
          action_id: "value",
          multiline: true,
          max_length: 500,
        },
      },
    ],
  };
}

function parseMetadata(text: string | undefined) {
  try {
    const parsed = reassignMetadata.safeParse(JSON.parse(text ?? ""));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
