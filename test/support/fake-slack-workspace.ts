/**
 * The Slack stand-in for a test file that talks to it directly (no bot): one channel, one user
 * and one usergroup, reset before each test; and a small card to post.
 */
import { afterAll, beforeAll, beforeEach } from "vitest";
import { type FakeSlack, startFakeSlack } from "../../dev/slack/fake-slack.js";

/** Starts the stand-in for this file; the getter returns it inside tests. */
export function useFakeSlack(): () => FakeSlack {
  let fake: FakeSlack | undefined;
  beforeAll(async () => {
    fake = await startFakeSlack({
      channels: [{ id: "C0OPS", name: "ops" }],
      users: [{ id: "U0ALICE", name: "alice", tz: "Asia/Kolkata" }],
      usergroups: { S0ONCALL: ["U0ALICE", "U0BOB"] },
    });
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => fake?.reset());
  return () => {
    if (!fake) throw new Error("the Slack stand-in is not started yet");
    return fake;
  };
}

/** A card with one Retry button, as the bot's cards look to Slack. */
export const sampleCard = (title: string) => ({
  text: `Exception: ${title}`,
  blocks: [
    { type: "section", block_id: "summary", text: { type: "mrkdwn", text: `*${title}*` } },
    {
      type: "actions",
      block_id: "actions",
      elements: [
        {
          type: "button",
          action_id: "retry",
          text: { type: "plain_text", text: "Retry" },
          value: "exc-1",
        },
      ],
    },
  ],
});
