/**
 * Buttons of the SLA DMs. "Reassign to a member…" is the card's reassign button (its handler
 * accepts clicks from a DM); "Claim for me" is here: it claims an unclaimed exception, or takes
 * it over from its holder (a manager's hand-off to themselves). Authorization is checked like
 * a card button: the exception id in the button is untrusted, and the clicker must be a member
 * or manager of that exception's role.
 */

import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import type { Deps } from "../app/deps.js";
import { exceptionLabel } from "../exceptions/card.js";
import { findException } from "../exceptions/exceptions.repo.js";
import { actOnException } from "../exceptions/exceptions.service.js";
import { actorOf, tell } from "../exceptions/exceptions.slack.js";
import { COULD_NOT, clickWork } from "../platform/slack/click-work.js";
import { rowIdValue } from "../platform/slack/values.js";
import { SLA_ACTIONS } from "./sla-messages.js";

const exceptionIdValue = rowIdValue;

export function registerSlaListeners(app: App, deps: Deps): void {
  // A URL button opens the link in the client; Slack still sends the click and wants an ack.
  app.action(SLA_ACTIONS.openCard, async ({ ack }) => {
    await ack();
  });

  app.action<BlockAction<ButtonAction>>(
    SLA_ACTIONS.take,
    async ({ ack, body, action, respond }) => {
      await ack();
      const id = exceptionIdValue.safeParse(action.value);
      const container = body.container?.channel_id ?? body.channel?.id ?? "";
      // The button only exists in DMs from the bot; anywhere else it was not sent by us.
      if (!id.success || !container.startsWith("D")) {
        return tell(respond, "That button is not one of mine. Nothing was changed.");
      }
      const label = exceptionLabel(id.data);
      const me = body.user.id;
      const answer = await clickWork(
        deps.logger,
        { exceptionId: id.data, action: "take" },
        async () => {
          const row = await findException(deps.db, id.data);
          if (!row) return `I can't find ${label}.`;
          if (row.claimedBy === me) return `You already hold ${label}.`;
          const result = await actOnException(deps, {
            exceptionId: id.data,
            actor: actorOf(body),
            // The service checks standing in the role; a member cannot take from another holder.
            action: row.claimedBy ? { kind: "reassign", to: me } : { kind: "claim" },
          });
          return result.ok ? `You now hold ${label}.` : result.message;
        },
      );
      await tell(respond, answer ?? COULD_NOT);
    },
  );
}
