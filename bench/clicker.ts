/**
 * Slack's clickers, in a worker thread of their own (bench/slack-side.client.ts starts it):
 * Slack is not in the bot's process in production, so neither its CPU nor the clickers' should
 * be counted against the bot's acknowledgement latency. Clicks are signed before the clock
 * starts and sent as raw HTTP/1.1 over a new connection each (a `fetch` per click cost more CPU
 * than the bare request, and on two cores that CPU is the bot's). A click's latency runs from
 * opening its connection to the first byte of the answer.
 *
 * Apart from the fake Web API (bench/slack-side.ts): that thread keeps every call the bot makes
 * and collects that heap now and then, and in one run it read answers up to 200 ms after the
 * bot had written them, while the bot's own arrival-to-ack view was under 100 ms.
 */
import { randomBytes } from "node:crypto";
import { readlinkSync } from "node:fs";

import { connect } from "node:net";
import { parentPort } from "node:worker_threads";
import { blockActionPayload, type SlackTarget, signSlackRequest } from "../dev/slack/signing.js";

export interface ClickRequest {
  userId: string;
  channel: string;
  ts: string;
  actionId: string;
  value: string;
}

export type ClickerRequest = {
  type: "clicks";
  url: string;
  secret: string;
  /** Where the clicks' `response_url`s point: the fake Web API. */
  slackUrl: string;
  clicks: ClickRequest[];
  spreadMs: number;
};

export type ClickerReply =
  /** `tid`: this thread's id on Linux (null elsewhere), so the bench can raise its priority. */
  | { type: "ready"; tid: number | null }
  | { type: "clicked"; results: { ms: number; status: number }[] };

const port = parentPort;
if (!port) throw new Error("clicker.ts runs as a worker thread");
const send = (reply: ClickerReply) => port.postMessage(reply);

port.on("message", async (request: ClickerRequest) => {
  const target = {
    url: request.url,
    signingSecret: request.secret,
    responseUrl: () => `${request.slackUrl}/response/${randomBytes(6).toString("hex")}`,
  };
  // Signed before the clock starts: signing is Slack's work, not the bot's.
  const signed = request.clicks.map((click) => signedRequest(target, click));
  const gap = request.clicks.length > 1 ? request.spreadMs / request.clicks.length : 0;
  const { port } = new URL(request.url);
  const results = await Promise.all(
    signed.map(async (bytes, i) => {
      if (gap > 0) await new Promise((resolve) => setTimeout(resolve, i * gap));
      return post(Number(port), bytes);
    }),
  );
  send({ type: "clicked", results });
});
send({ type: "ready", tid: threadId() });

/** This thread's kernel id: `/proc/thread-self` links to `<pid>/task/<tid>` (Linux only). */
function threadId(): number | null {
  try {
    return Number(readlinkSync("/proc/thread-self").split("/").pop()) || null;
  } catch {
    return null;
  }
}

function signedRequest(target: SlackTarget, click: ClickRequest): Buffer {
  const payload = blockActionPayload(target, {
    userId: click.userId,
    userName: click.userId.toLowerCase(),
    channelId: click.channel,
    messageTs: click.ts,
    actionId: click.actionId,
    value: click.value,
  });
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const headers = signSlackRequest(target.signingSecret, body, Math.floor(Date.now() / 1000));
  return Buffer.from(
    [
      "POST /slack/events HTTP/1.1",
      "Host: 127.0.0.1",
      "Content-Type: application/x-www-form-urlencoded",
      `Content-Length: ${Buffer.byteLength(body)}`,
      `X-Slack-Signature: ${headers["x-slack-signature"]}`,
      `X-Slack-Request-Timestamp: ${headers["x-slack-request-timestamp"]}`,
      "Connection: close",
      "",
      body,
    ].join("\r\n"),
  );
}

/** Sends one request; resolves with the time to the status line and the status. */
function post(port: number, bytes: Buffer): Promise<{ ms: number; status: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    socket.once("data", (chunk: Buffer) => {
      const ms = performance.now() - started;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString("latin1"))?.[1] ?? 0);
      socket.destroy();
      resolve({ ms, status });
    });
    socket.once("error", () => resolve({ ms: performance.now() - started, status: 0 }));
  });
}
