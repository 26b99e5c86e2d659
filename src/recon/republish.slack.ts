/** The **Re-publish from source of truth** button of partial-write cards (src/recon/republish.ts). */
import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import type { Deps } from "../app/deps.js";
import { ACTIONS } from "../exceptions/card.js";
import { respondOrDm, tell } from "../exceptions/exceptions.slack.js";
import { rowIdValue } from "../platform/slack/values.js";
import { republishFromTruth } from "./republish.js";

export function registerRepublishListener(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(
    ACTIONS.republish,
    async ({ ack, body, action, respond: slackRespond }) => {
      await ack();
      const respond = respondOrDm(deps, body, slackRespond);
      const id = rowIdValue.safeParse(action.value);
      if (!id.success) return tell(respond, "That button is not one of mine. Nothing was sent.");
      try {
        const result = await republishFromTruth(deps, {
          exceptionId: id.data,
          userId: body.user.id,
        });
        await tell(respond, result.text);
      } catch (error) {
        deps.logger.error({ err: error, exceptionId: id.data }, "re-publish failed");
        await tell(respond, "I could not re-publish just now. Try again in a minute.");
      }
    },
  );
}
