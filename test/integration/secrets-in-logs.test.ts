/**
 * Secrets never reach a log line: the whole loop (event, card, click, modal, command, a forged
 * request, Slack failing) runs at LOG_LEVEL=trace into a captured pino stream, and the text is
 * searched for the bot token, the signing secret and the app token.
 */
import { createServer } from "node:net";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/exceptions/card.js";
import { RESOLVE_CALLBACK } from "../../src/exceptions/exceptions.slack.js";
import { reportSyncFailure } from "../../src/intake/failure-event.schema.js";
import { createLogger } from "../../src/platform/logger.js";
import { startSyncdesk } from "../../src/syncdesk.js";
import { eventually, failureEvent } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

const BOT_TOKEN = "xoxb-1111-2222-SECRETBOTTOKEN";
const APP_TOKEN = "xapp-1-A0-3333-SECRETAPPTOKEN";
const SECRETS = [BOT_TOKEN, "SECRETBOTTOKEN", "SECRETAPPTOKEN", "test-signing-secret"];

let logText = "";
const capture = new Writable({
  write(chunk, _encoding, done) {
    logText += chunk.toString();
    done();
  },
});
const logger = createLogger("trace", capture);

const h = useHarness({
  env: { SLACK_BOT_TOKEN: BOT_TOKEN, LOG_LEVEL: "trace" },
  start: { logger },
});

describe("logs at trace level", () => {
  it("hold no token or signing secret through a full flow with failures", async () => {
    // An event becomes a card; Slack fails the first post with a 500 and then answers.
    h.fake.failNext("chat.postMessage", { status: 500 });
    await h.report(failureEvent({ sku: "SKU-LOGS" }));
    const row = await eventually(
      async () => (await h.exceptionsFor("SKU-LOGS")).find((r) => r.cardTs),
      15_000,
    );

    // A claim, a resolve modal opened and submitted, a command, an invalid_auth from Slack.
    await h.slack.blockAction({
      userId: "U0ALICE",
      channelId: row.channel,
      messageTs: row.cardTs!,
      actionId: ACTIONS.claim,
      value: String(row.id),
    });
    await eventually(async () => (await h.exception(row.id)).claimedBy === "U0ALICE");
    h.fake.failNext("views.open", { error: "invalid_auth" });
    await h.slack.blockAction({
      userId: "U0ALICE",
      channelId: row.channel,
      messageTs: row.cardTs!,
      actionId: ACTIONS.resolve,
      value: String(row.id),
    });
    await h.fake.waitForCall("views.open");
    await h.slack.viewSubmission({
      userId: "U0ALICE",
      callbackId: RESOLVE_CALLBACK,
      privateMetadata: JSON.stringify({ exceptionId: row.id, channel: row.channel }),
      values: {
        note: { value: { type: "plain_text_input", value: "Re-sent the feed" } },
        root_cause: {
          value: { type: "static_select", selected_option: { value: "source_data" } },
        },
      },
    });
    await eventually(async () => (await h.exception(row.id)).state === "resolved");
    await h.slack.command({
      command: "/inventory",
      text: "status",
      userId: "U0MGR",
      channelId: "C0X",
    });
    await h.slack.command(
      { command: "/inventory", text: "help", userId: "U0MGR", channelId: "C0X" },
      { signingSecret: "forged-secret-123" },
    );
    await h.reportRaw({ eventId: "bad", sku: 42 });

    // A worker with an app token configured, whose Slack cannot be reached at all: network
    // errors carry the request that failed, headers included.
    const prefix = `${h.env.QUEUE_PREFIX}-offline`;
    const worker = await startSyncdesk(
      {
        ...h.env,
        SLACK_APP_TOKEN: APP_TOKEN,
        QUEUE_PREFIX: prefix,
        SLACK_API_URL: `http://127.0.0.1:${await closedPort()}/api/`,
      },
      { roles: ["worker"], logger, slackRetries: 0 },
    );
    try {
      await reportSyncFailure(worker.deps.queues.failures, failureEvent({ sku: "SKU-OFFLINE" }));
      await eventually(
        async () => /A request error occurred/.test(logText),
        15_000,
        "a network error logged",
      );
    } finally {
      await worker.deps.queues.internal.obliterate({ force: true }).catch(() => {});
      await worker.deps.queues.failures.obliterate({ force: true }).catch(() => {});
      await worker.stop();
    }

    await eventually(async () => logText.includes("refused a request"));
    const lines = logText.split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(20);
    // Verbose levels really were on, and the failures were logged.
    expect(lines.some((line) => JSON.parse(line).level <= 20)).toBe(true);
    expect(logText).toMatch(/Slack post failed|could not|failed/);
    for (const secret of SECRETS) expect(logText).not.toContain(secret);
    expect(logText).not.toMatch(/Bearer\s+xox/);
  });
});

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
