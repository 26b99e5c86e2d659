/**
 * What an attacker or a hostile producer can do to the desk: a forged or stale click changes
 * nothing, and text from producers never pings anyone or links anywhere in what Slack shows.
 */
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/exceptions/card.js";
import { eventually, failureEvent } from "../support/harness.js";
import {
  cardOf,
  click,
  DESK,
  exceptionOf,
  replyTo,
  textOf,
  threadOf,
  USERS,
} from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness(DESK);

const HOSTILE = /<!channel>|<!here>|<!everyone>|<@U0HACK>|<https:\/\/evil|<!subteam/;

async function open(sku: string, overrides = {}) {
  const event = failureEvent({ sku, ...overrides });
  await h.report(event);
  return exceptionOf(h, event.eventId);
}

/** Everything Slack would parse in a message: the fallback text and every mrkdwn string. */
function parsedTexts(message: Record<string, unknown>): string[] {
  const texts = [String(message.text ?? "")];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) for (const item of node) walk(item);
    else if (node && typeof node === "object") {
      const obj = node as Record<string, unknown>;
      if (obj.type === "mrkdwn" && typeof obj.text === "string") texts.push(obj.text);
      for (const value of Object.values(obj)) walk(value);
    }
  };
  walk(message.blocks);
  return texts;
}

describe("signed requests", () => {
  it("a click with a forged signature gets 401 and changes nothing", async () => {
    const row = await open("SKU-FORGED");
    const calls = h.fake.calls.length;
    const audit = (await h.audit(row.id)).length;
    const payload = {
      userId: USERS.alice,
      channelId: row.channel,
      messageTs: row.cardTs!,
      actionId: ACTIONS.claim,
      value: String(row.id),
    };
    const forged = await h.slack.blockAction(payload, { signingSecret: "not-the-secret-at-all" });
    expect(forged.status).toBe(401);
    const stale = await h.slack.blockAction(payload, {
      timestampSec: Math.floor(Date.now() / 1000) - 6 * 60,
    });
    expect(stale.status).toBe(401);
    const unsigned = await h.slack.blockAction(payload, { signature: "v0=deadbeef" });
    expect(unsigned.status).toBe(401);

    // A signed click afterwards is taken: the refusals above were about the signatures.
    const real = await click(h, USERS.bob, row.id, "claim");
    expect(real.status).toBe(200);
    await eventually(async () => (await h.exception(row.id)).claimedBy === USERS.bob);
    const entries = await h.audit(row.id);
    expect(entries.slice(audit).map((entry) => entry.actor)).toEqual([USERS.bob]);
    expect(h.fake.calls.slice(calls).every((call) => call.method !== "views.open")).toBe(true);
  });

  it("a forged or stale resolve submission gets 401 and resolves nothing", async () => {
    const row = await open("SKU-FORGED-RESOLVE");
    const submission = {
      userId: USERS.manager,
      callbackId: "exception.resolve.submit",
      privateMetadata: JSON.stringify({ exceptionId: row.id, channel: row.channel }),
      values: {
        note: { value: { type: "plain_text_input", value: "forged" } },
        root_cause: { value: { type: "static_select", selected_option: { value: "other" } } },
      },
    };
    expect(
      (await h.slack.viewSubmission(submission, { signingSecret: "wrong-secret-123" })).status,
    ).toBe(401);
    expect(
      (
        await h.slack.viewSubmission(submission, {
          timestampSec: Math.floor(Date.now() / 1000) - 301,
        })
      ).status,
    ).toBe(401);
    expect((await h.exception(row.id)).state).toBe("open");
    expect((await h.audit(row.id)).map((entry) => entry.action)).not.toContain("resolve");
  });

  it("a forged slash command gets 401 and no answer", async () => {
    const responseUrl = h.fake.responseUrl("forged-command");
    const res = await h.slack.command(
      {
        command: "/inventory",
        text: "status",
        userId: USERS.eve,
        channelId: "C0FULFILL",
        responseUrl,
      },
      { signingSecret: "forged-secret-456" },
    );
    expect(res.status).toBe(401);
    expect(h.fake.responses("forged-command")).toEqual([]);
  });
});

describe("mrkdwn escaping in what Slack shows", () => {
  const hostile = {
    sku: "<!channel>",
    client: "<@U0HACK>",
    targetSystem: "<https://evil.example|click here>",
    sourceSystem: "erp & <!here>",
    vertical: "<!everyone>",
    error: { message: "failed for <!subteam^S0ALL> & <@U0HACK>", code: "<!here>" },
    links: [{ label: "<!channel> log", url: "https://logs.example.com/a?b=1&c=<!here>" }],
  };

  it("the posted card and its fallback text ping nobody and link nowhere they should not", async () => {
    const event = failureEvent(hostile);
    await h.report(event);
    const row = await exceptionOf(h, event.eventId);
    const card = await cardOf(h, row.id);
    for (const text of parsedTexts(card)) expect(text).not.toMatch(HOSTILE);
    const shown = textOf(card);
    expect(shown).toContain("&lt;!channel&gt;");
    expect(shown).toContain("&lt;@U0HACK&gt;");
    expect(shown).toContain("&lt;https://evil.example|click here&gt;");
    expect(shown).toContain("erp &amp; &lt;!here&gt;");
    const post = h.fake.callsTo("chat.postMessage").find((call) => call.body.text === card.text);
    expect(String(post?.body.text)).not.toMatch(HOSTILE);
  });

  it("thread lines, refusals and /inventory status escape what people and producers typed", async () => {
    const event = failureEvent({ ...hostile, sku: "<!channel> 2", failureMode: "auth" });
    await h.report(event);
    const row = await exceptionOf(h, event.eventId);
    // A display name is untrusted too.
    const replies = (await threadOf(h, row.id)).length;
    await h.slack.blockAction({
      userId: USERS.alice,
      userName: "<!channel>",
      channelId: row.channel,
      messageTs: row.cardTs!,
      actionId: ACTIONS.claim,
      value: String(row.id),
    });
    await eventually(async () => (await threadOf(h, row.id)).length > replies);
    for (const line of await threadOf(h, row.id)) expect(line).not.toMatch(HOSTILE);

    const refused = await click(h, USERS.eve, row.id, "unclaim");
    expect(await replyTo(h, refused)).not.toMatch(HOSTILE);

    const responseUrl = h.fake.responseUrl("status-escaped");
    await h.slack.command({
      command: "/inventory",
      text: "status",
      userId: USERS.alice,
      channelId: "C0FULFILL",
      responseUrl,
    });
    const status = (await h.fake.waitForResponse("status-escaped")) as { text: string };
    expect(status.text).not.toMatch(HOSTILE);
  });
});
