/**
 * Slack's side of the storm bench, in a worker thread of its own: the fake Web API and the
 * people clicking. Slack is not in the bot's process in production, so neither its CPU nor the
 * clickers' should be counted against the bot's acknowledgement latency.
 */
import { parentPort } from "node:worker_threads";
import { type FakeSlack, startFakeSlack } from "../src/platform/slack/fake-slack.js";
import { slackRequester } from "../src/platform/slack/signing.js";

export interface ClickRequest {
  userId: string;
  channel: string;
  ts: string;
  actionId: string;
  value: string;
}

export type SlackSideRequest =
  | { type: "calls"; from: number }
  | { type: "clicks"; url: string; secret: string; clicks: ClickRequest[]; spreadMs: number }
  | { type: "close" };

export type SlackSideReply =
  | { type: "ready"; url: string }
  | { type: "calls"; calls: FakeSlack["calls"] }
  | { type: "clicked"; results: { ms: number; status: number }[] }
  | { type: "closed" };

const port = parentPort;
if (!port) throw new Error("slack-side.ts runs as a worker thread");
const send = (reply: SlackSideReply) => port.postMessage(reply);

const fake = await startFakeSlack();
port.on("message", async (request: SlackSideRequest) => {
  switch (request.type) {
    case "calls":
      send({ type: "calls", calls: fake.calls.slice(request.from) });
      return;
    case "clicks": {
      const slack = slackRequester({
        url: request.url,
        signingSecret: request.secret,
        responseUrl: () => fake.responseUrl(),
      });
      const gap = request.clicks.length > 1 ? request.spreadMs / request.clicks.length : 0;
      const results = await Promise.all(
        request.clicks.map(async (click, i) => {
          if (gap > 0) await new Promise((resolve) => setTimeout(resolve, i * gap));
          const started = performance.now();
          const res = await slack.blockAction({
            userId: click.userId,
            userName: click.userId.toLowerCase(),
            channelId: click.channel,
            messageTs: click.ts,
            actionId: click.actionId,
            value: click.value,
          });
          return { ms: performance.now() - started, status: res.status };
        }),
      );
      send({ type: "clicked", results });
      return;
    }
    case "close":
      await fake.close();
      send({ type: "closed" });
      port.close();
      return;
  }
});
send({ type: "ready", url: fake.url });
