/** A Bolt app of ours listening on a free port, and signed Slack requests to it. */
import type { Server } from "node:http";
import type { App } from "@slack/bolt";
import type { FakeSlack } from "../../dev/slack/fake-slack.js";
import { type SlackRequester, slackRequester } from "../../dev/slack/signing.js";

export async function listenForSlack(
  app: App,
  signingSecret: string,
  fake: FakeSlack,
): Promise<SlackRequester> {
  const server = (await app.start(0)) as Server;
  const { port } = server.address() as { port: number };
  return slackRequester({
    url: `http://127.0.0.1:${port}`,
    signingSecret,
    responseUrl: () => fake.responseUrl(),
  });
}
