/**
 * Slack's Web API for the benches, in a worker thread of its own: the fake records every call,
 * and neither its CPU nor its heap is the bot's. The people clicking have a thread of their own
 * (bench/clicker.ts).
 */
import { parentPort } from "node:worker_threads";
import { type FakeSlack, startFakeSlack } from "../dev/slack/fake-slack.js";

export type SlackSideRequest = { type: "calls"; from: number } | { type: "close" };

export type SlackSideReply =
  | { type: "ready"; url: string }
  | { type: "calls"; calls: FakeSlack["calls"] }
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
    case "close":
      await fake.close();
      send({ type: "closed" });
      port.close();
      return;
  }
});
send({ type: "ready", url: fake.url });
