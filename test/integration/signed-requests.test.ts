/**
 * The signed-request builders (dev/slack/signing.ts) against a real Bolt app, with the Slack
 * stand-in answering the app's Web API calls: Slack's wire formats as Bolt parses them.
 */
import { App, type BlockAction, LogLevel } from "@slack/bolt";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type SlackRequester,
  serverUrl,
  signSlackRequest,
  slackRequester,
} from "../../dev/slack/signing.js";
import { sampleCard, useFakeSlack } from "../support/fake-slack-workspace.js";

const TOKEN = "xoxb-fake-token";
const SECRET = "fake-signing-secret";

const workspace = useFakeSlack();
const card = sampleCard;

describe("signed requests against a real Bolt app", () => {
  let app: App;
  let slack: SlackRequester;
  const seen: Record<string, unknown>[] = [];

  beforeAll(async () => {
    app = new App({
      token: TOKEN,
      signingSecret: SECRET,
      clientOptions: { slackApiUrl: workspace().url, retryConfig: { retries: 0 } },
      botId: "B0SYNCDESK",
      botUserId: "U0SYNCDESK",
      logLevel: LogLevel.ERROR,
    });
    app.command("/inventory", async ({ ack, command, respond }) => {
      seen.push({ kind: "command", ...command });
      await ack({ response_type: "ephemeral", text: `stats for ${command.text}` });
      await respond({ text: "later" });
    });
    app.action<BlockAction>("retry", async ({ ack, body, client }) => {
      await ack();
      seen.push({ kind: "action", ...body });
      if (body.container?.type === "message" && !body.container.is_ephemeral) {
        await client.chat.update({
          channel: body.container.channel_id,
          ts: body.container.message_ts,
          text: "Retrying",
        });
      }
    });
    app.view("snooze", async ({ ack, view }) => {
      const reason = view.state.values.reason?.input?.value;
      await ack({ response_action: "errors", errors: { reason: `bad: ${reason}` } });
    });
    app.event("app_home_opened", async ({ event, client, context }) => {
      seen.push({ kind: "event", retryNum: context.retryNum, user: event.user });
      await client.views.publish({ user_id: event.user, view: { type: "home", blocks: [] } });
    });
    const server = await app.start(0);
    slack = slackRequester({
      url: serverUrl(server),
      signingSecret: SECRET,
      responseUrl: () => workspace().responseUrl("bolt"),
    });
  });
  afterAll(async () => {
    await app?.stop();
  });
  beforeEach(() => {
    seen.length = 0;
  });

  it("delivers a signed slash command to app.command, whose ack is the HTTP response", async () => {
    const res = await slack.command({
      command: "/inventory",
      text: "stats 7d",
      userId: "U0ALICE",
      channelId: "C0OPS",
    });
    expect(res).toMatchObject({
      status: 200,
      json: { response_type: "ephemeral", text: "stats for stats 7d" },
    });
    expect(seen[0]).toMatchObject({
      kind: "command",
      command: "/inventory",
      user_id: "U0ALICE",
      user_name: "u0alice",
      channel_id: "C0OPS",
      team_id: "T0TEAM",
    });
    await expect(workspace().waitForResponse("bolt")).resolves.toMatchObject({ text: "later" });
  });

  it("delivers a button click on a message to app.action, whose client talks to the fake", async () => {
    const posted = await app.client.chat.postMessage({
      token: TOKEN,
      channel: "C0OPS",
      ...card("SKU-1"),
    });
    const res = await slack.blockAction({
      userId: "U0ALICE",
      channelId: "C0OPS",
      messageTs: posted.ts as string,
      actionId: "retry",
      value: "exc-1",
    });
    expect(res.status).toBe(200);
    expect(seen[0]).toMatchObject({
      type: "block_actions",
      actions: [{ action_id: "retry", value: "exc-1", block_id: "actions" }],
      message: { ts: posted.ts },
      channel: { id: "C0OPS" },
    });
    await workspace().waitForCall("chat.update");
    expect(workspace().messages("C0OPS")[0]?.text).toBe("Retrying");
  });

  it("delivers clicks from a DM, an ephemeral message and the Home tab", async () => {
    const inDm = await app.client.chat.postMessage({
      token: TOKEN,
      channel: "U0ALICE",
      text: "hi",
    });
    await slack.blockAction({
      userId: "U0ALICE",
      channelId: inDm.channel as string,
      messageTs: inDm.ts as string,
      actionId: "retry",
      value: "exc-1",
    });
    await slack.blockAction({
      userId: "U0ALICE",
      channelId: "C0OPS",
      messageTs: "1700000000.000200",
      ephemeral: true,
      actionId: "retry",
    });
    await slack.blockAction({
      userId: "U0ALICE",
      view: { id: "V0HOME", type: "home" },
      actionId: "retry",
      value: "exc-2",
    });
    const [dm, ephemeral, home] = seen;
    expect(dm).toMatchObject({
      channel: { id: "DU0ALICE", name: "directmessage" },
      container: { channel_id: "DU0ALICE", is_ephemeral: false },
    });
    await workspace().waitForCall("chat.update");
    expect(workspace().messages("DU0ALICE")[0]?.text).toBe("Retrying");
    expect(ephemeral).toMatchObject({
      container: { is_ephemeral: true },
      channel: { id: "C0OPS" },
    });
    expect(ephemeral).not.toHaveProperty("message");
    expect(home).toMatchObject({
      container: { type: "view", view_id: "V0HOME" },
      view: { id: "V0HOME", type: "home" },
      actions: [{ value: "exc-2" }],
    });
    expect(home).not.toHaveProperty("channel");
    expect(home).not.toHaveProperty("response_url");
  });

  it("delivers a view submission and returns the listener's field errors", async () => {
    const res = await slack.viewSubmission({
      userId: "U0ALICE",
      callbackId: "snooze",
      privateMetadata: JSON.stringify({ exceptionId: "exc-1" }),
      values: { reason: { input: { type: "plain_text_input", value: "meh" } } },
    });
    expect(res).toMatchObject({
      status: 200,
      json: { response_action: "errors", errors: { reason: "bad: meh" } },
    });
  });

  it("delivers events, with Slack's retry number", async () => {
    const event = { type: "app_home_opened", user: "U0BOB", channel: "DU0BOB", tab: "home" };
    const first = await slack.event(event);
    expect(first.status).toBe(200);
    await workspace().waitForCall("views.publish", (c) => c.body.user_id === "U0BOB");
    await slack.event(event, { eventId: first.eventId, retryNum: 1, retryReason: "http_timeout" });
    await workspace().waitForCall(
      "views.publish",
      () => workspace().callsTo("views.publish").length === 2,
    );
    expect(seen.map((s) => s.retryNum)).toEqual([undefined, 1]);
    expect(workspace().lastView("U0BOB")).toMatchObject({ type: "home" });
  });

  it("rejects a forged signature and a stale timestamp with 401", async () => {
    const input = { command: "/inventory", text: "", userId: "U0EVE", channelId: "C0OPS" };
    const forged = await slack.command(input, { signingSecret: "not-the-secret" });
    const stale = await slack.command(input, {
      timestampSec: Math.floor(Date.now() / 1000) - 6 * 60,
    });
    expect([forged.status, stale.status]).toEqual([401, 401]);
    expect(seen).toEqual([]);
  });

  it("only parses forms sent without a charset, and checks the signature of the exact bytes", async () => {
    const body = new URLSearchParams({ command: "/inventory", text: "x" }).toString();
    const withCharset = await slack.raw(body, "application/x-www-form-urlencoded; charset=UTF-8");
    expect(withCharset.status).toBe(400);

    const ts = Math.floor(Date.now() / 1000);
    const signedOther = signSlackRequest(SECRET, `${body}&user_id=U0EVE`, ts)["x-slack-signature"];
    const tampered = await slack.raw(body, "application/x-www-form-urlencoded", {
      timestampSec: ts,
      signature: signedOther,
    });
    expect(tampered.status).toBe(401);
    expect(seen).toEqual([]);
  });
});
