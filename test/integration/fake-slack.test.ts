import { LogLevel, webApi } from "@slack/bolt";
import { beforeAll, describe, expect, it } from "vitest";
import { sampleCard, useFakeSlack } from "../support/fake-slack-workspace.js";

const { WebClient, WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError } = webApi;

const TOKEN = "xoxb-fake-token";

const slack = useFakeSlack();
const card = sampleCard;

/** What a caller sees when a Web API call fails: the error class and its Slack-facing fields. */
async function failure(call: Promise<unknown>) {
  const error = await call.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
  if (error instanceof WebAPIPlatformError) return { platform: error.data.error };
  if (error instanceof WebAPIRateLimitedError) return { rateLimited: error.retryAfter };
  if (error instanceof WebAPIHTTPError) return { http: error.statusCode };
  throw error;
}

describe("fake Slack through a real WebClient", () => {
  let client: InstanceType<typeof WebClient>;
  beforeAll(() => {
    client = new WebClient(TOKEN, {
      slackApiUrl: slack().url,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logLevel: LogLevel.ERROR,
    });
  });

  it("answers auth.test as the syncdesk bot", async () => {
    const res = await client.auth.test();
    expect(res).toMatchObject({ ok: true, user_id: "U0SYNCDESK", bot_id: "B0SYNCDESK" });
    expect(res.team_id).toBe("T0TEAM");
    expect(slack().url.endsWith("/api/")).toBe(true);
  });

  it("stores a posted card with blocks and metadata, with increasing ts", async () => {
    const metadata = { event_type: "exception_card", event_payload: { exception_id: "exc-1" } };
    const first = await client.chat.postMessage({ channel: "C0OPS", ...card("SKU-1"), metadata });
    const second = await client.chat.postMessage({ channel: "C0OPS", text: "second" });

    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
    expect(first.message?.blocks).toHaveLength(2);
    const [stored] = slack().messages("C0OPS");
    expect(stored).toMatchObject({ ts: first.ts, text: "Exception: SKU-1", metadata });
    expect(stored?.blocks).toEqual(card("SKU-1").blocks);
    expect(slack().callsTo("chat.postMessage")[0]?.body).toMatchObject({
      channel: "C0OPS",
      blocks: card("SKU-1").blocks,
      metadata,
    });
    expect(slack().callsTo("chat.postMessage")[0]?.body).not.toHaveProperty("token");
    expect(slack().violations).toEqual([]);
  });

  it("updates a stored message, and answers message_not_found for an unknown ts", async () => {
    const posted = await client.chat.postMessage({ channel: "C0OPS", ...card("SKU-1") });
    const updated = await client.chat.update({
      channel: "C0OPS",
      ts: posted.ts as string,
      ...card("SKU-1 (resolved)"),
    });
    expect(updated.ts).toBe(posted.ts);
    expect(slack().messages("C0OPS")).toEqual([
      expect.objectContaining({ ts: posted.ts, text: "Exception: SKU-1 (resolved)" }),
    ]);
    expect(
      await failure(client.chat.update({ channel: "C0OPS", ts: "1.000001", text: "x" })),
    ).toEqual({ platform: "message_not_found" });
  });

  it("keeps thread replies apart from the channel and links to both", async () => {
    const parent = await client.chat.postMessage({ channel: "C0OPS", text: "parent" });
    const reply = await client.chat.postMessage({
      channel: "C0OPS",
      text: "claimed by alice",
      thread_ts: parent.ts as string,
    });

    expect(slack().messages("C0OPS")).toEqual([
      expect.objectContaining({ ts: parent.ts, reply_count: 1, thread_ts: parent.ts }),
    ]);
    expect(slack().threadReplies("C0OPS", parent.ts as string)).toEqual([
      expect.objectContaining({ ts: reply.ts, text: "claimed by alice" }),
    ]);
    const link = await client.chat.getPermalink({
      channel: "C0OPS",
      message_ts: parent.ts as string,
    });
    expect(link.permalink).toBe(
      `https://fake.slack.test/archives/C0OPS/p${(parent.ts as string).replace(".", "")}`,
    );
    const replyLink = await client.chat.getPermalink({
      channel: "C0OPS",
      message_ts: reply.ts as string,
    });
    expect(replyLink.permalink).toContain(`?thread_ts=${parent.ts}&cid=C0OPS`);
  });

  it("reads history newest first, in a ts window, with metadata only on request", async () => {
    const metadata = { event_type: "exception_card", event_payload: { id: 1 } };
    const a = await client.chat.postMessage({ channel: "C0OPS", text: "a", metadata });
    const b = await client.chat.postMessage({ channel: "C0OPS", text: "b", metadata });
    await client.chat.postMessage({ channel: "C0OPS", text: "reply", thread_ts: a.ts as string });
    const c = await client.chat.postMessage({ channel: "C0OPS", text: "c" });

    const all = await client.conversations.history({ channel: "C0OPS" });
    expect(all.messages?.map((m) => m.text)).toEqual(["c", "b", "a"]);
    expect(all.messages?.[1]).not.toHaveProperty("metadata");

    const window = await client.conversations.history({
      channel: "C0OPS",
      oldest: a.ts as string,
      latest: c.ts as string,
      include_all_metadata: true,
    });
    expect(window.messages).toEqual([expect.objectContaining({ ts: b.ts, metadata })]);

    const page = await client.conversations.history({ channel: "C0OPS", limit: 2 });
    expect(page.messages?.map((m) => m.text)).toEqual(["c", "b"]);
    expect(page.has_more).toBe(true);
    const next = await client.conversations.history({
      channel: "C0OPS",
      limit: 2,
      cursor: page.response_metadata?.next_cursor as string,
    });
    expect(next.messages?.map((m) => m.text)).toEqual(["a"]);
  });

  it("opens DMs as D<user>, posts to a user id into that DM, and knows configured channels", async () => {
    const dm = await client.conversations.open({ users: "U0ALICE" });
    expect(dm.channel?.id).toBe("DU0ALICE");
    const posted = await client.chat.postMessage({ channel: "U0ALICE", text: "hi" });
    expect(posted.channel).toBe("DU0ALICE");
    expect(slack().messages("DU0ALICE")).toHaveLength(1);

    expect((await client.conversations.info({ channel: "C0OPS" })).channel).toMatchObject({
      id: "C0OPS",
      name: "ops",
      is_member: true,
    });
    expect((await client.conversations.info({ channel: "DU0ALICE" })).channel?.is_im).toBe(true);
    expect(await failure(client.conversations.info({ channel: "C0NOPE" }))).toEqual({
      platform: "channel_not_found",
    });
  });

  it("lists usergroup members, or plan_upgrade_required on a free plan", async () => {
    const res = await client.usergroups.users.list({ usergroup: "S0ONCALL" });
    expect(res.users).toEqual(["U0ALICE", "U0BOB"]);
    expect(await failure(client.usergroups.users.list({ usergroup: "S0NOPE" }))).toEqual({
      platform: "no_such_subteam",
    });
    slack().setFreePlan(true);
    expect(await failure(client.usergroups.users.list({ usergroup: "S0ONCALL" }))).toEqual({
      platform: "plan_upgrade_required",
    });
  });

  it("answers users.info with the user's time zone", async () => {
    const res = await client.users.info({ user: "U0ALICE" });
    expect(res.user).toMatchObject({ id: "U0ALICE", name: "alice", tz: "Asia/Kolkata" });
    expect(res.user?.tz_offset).toBe(19_800);
    expect((await client.users.info({ user: "U0OTHER" })).user?.tz).toBe("UTC");
  });

  it("rate-limits with 429 + Retry-After, which WebClient surfaces as rate-limited", async () => {
    slack().failNext("chat.postMessage", { status: 429, retryAfterSec: 7 });
    expect(await failure(client.chat.postMessage({ channel: "C0OPS", text: "x" }))).toEqual({
      rateLimited: 7,
    });
    await client.chat.postMessage({ channel: "C0OPS", text: "after" });
    expect(
      slack()
        .callsTo("chat.postMessage")
        .map((c) => c.status),
    ).toEqual([429, 200]);
    expect(
      slack()
        .messages("C0OPS")
        .map((m) => m.text),
    ).toEqual(["after"]);
  });

  it("enforces a per-channel rate limit on arrival, as Slack does", async () => {
    slack().setChannel({ id: "C0OTHER", name: "other" });
    slack().limitRate("chat.postMessage", { intervalMs: 60_000, burst: 2, scope: "channel" });
    const post = (channel: string) => client.chat.postMessage({ channel, text: "x" });
    await post("C0OPS");
    await post("C0OPS");
    expect(await failure(post("C0OPS"))).toEqual({ rateLimited: 60 });
    await post("C0OTHER");
    expect(
      slack()
        .callsTo("chat.postMessage")
        .map((c) => c.status),
    ).toEqual([200, 200, 429, 200]);
    slack().reset();
    await post("C0OPS");
  });

  it("injects errors, HTTP failures and an outage", async () => {
    slack().failNext("chat.update", { error: "cant_update_message" });
    slack().failNext("chat.postMessage", { status: 500, times: 2 });
    expect(await failure(client.chat.update({ channel: "C0OPS", ts: "1.1", text: "x" }))).toEqual({
      platform: "cant_update_message",
    });
    for (let i = 0; i < 2; i++) {
      expect(await failure(client.chat.postMessage({ channel: "C0OPS", text: "x" }))).toEqual({
        http: 500,
      });
    }
    await client.chat.postMessage({ channel: "C0OPS", text: "third time" });

    slack().setDown(true);
    expect(await failure(client.auth.test())).toEqual({ http: 503 });
    slack().setDown(false);
    expect((await client.auth.test()).ok).toBe(true);
  });

  it("answers unknown methods with unknown_method and records them", async () => {
    expect(await failure(client.apiCall("nope.nothing", { a: 1 }))).toEqual({
      platform: "unknown_method",
    });
    expect(slack().callsTo("nope.nothing")).toEqual([
      expect.objectContaining({ body: { a: "1" }, error: "unknown_method" }),
    ]);
  });

  it("answers not_authed without a token", async () => {
    const anonymous = new WebClient(undefined, {
      slackApiUrl: slack().url,
      retryConfig: { retries: 0 },
    });
    expect(await failure(anonymous.auth.test())).toEqual({ platform: "not_authed" });
  });

  it("records Block Kit violations without rejecting the call", async () => {
    const blocks = Array.from({ length: 51 }, () => ({ type: "divider" }));
    await client.chat.postMessage({ channel: "C0OPS", text: "big", blocks });
    expect(slack().violations).toEqual([
      expect.objectContaining({
        method: "chat.postMessage",
        problem: "51 blocks, limit 50 per message",
      }),
    ]);
  });

  it("opens, updates and publishes views; a trigger id works once", async () => {
    const modal = {
      type: "modal" as const,
      callback_id: "snooze",
      title: { type: "plain_text" as const, text: "Snooze" },
      blocks: [],
    };
    const opened = await client.views.open({ trigger_id: "t-1", view: modal });
    const viewId = opened.view?.id as string;
    expect(await failure(client.views.open({ trigger_id: "t-1", view: modal }))).toEqual({
      platform: "exchanged_trigger_id",
    });
    await client.views.update({
      view_id: viewId,
      view: { ...modal, title: { type: "plain_text", text: "Snoozed" } },
    });
    expect(slack().view(viewId)).toMatchObject({
      callback_id: "snooze",
      title: { text: "Snoozed" },
    });

    await client.views.publish({ user_id: "U0ALICE", view: { type: "home", blocks: [] } });
    await client.views.publish({
      user_id: "U0ALICE",
      view: { type: "home", blocks: [{ type: "divider" }] },
    });
    expect(slack().lastView("U0ALICE")?.blocks).toEqual([{ type: "divider" }]);
    expect(slack().lastView("U0BOB")).toBeUndefined();
    expect(slack().violations).toEqual([]);
  });

  it("waits for calls made before or after the wait starts, and times out with what it saw", async () => {
    await client.chat.postMessage({ channel: "C0OPS", text: "early" });
    await expect(slack().waitForCall("chat.postMessage")).resolves.toMatchObject({
      body: { text: "early" },
    });
    const later = slack().waitForCall("chat.postMessage", (c) => c.body.text === "late", 2000);
    await client.chat.postMessage({ channel: "C0OPS", text: "late" });
    await expect(later).resolves.toMatchObject({ body: { text: "late" } });
    await expect(slack().waitForCall("chat.delete", undefined, 50)).rejects.toThrow(
      /no chat.delete call; calls so far: chat.postMessage, chat.postMessage within 50ms/,
    );
  });

  it("plays response_url: records posted JSON per id", async () => {
    const url = slack().responseUrl("cmd-1");
    const waiting = slack().waitForResponse("cmd-1");
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ response_type: "ephemeral", text: "done" }),
    });
    expect(res.status).toBe(200);
    await expect(waiting).resolves.toEqual({ response_type: "ephemeral", text: "done" });
    expect(slack().responses("cmd-1")).toHaveLength(1);
  });
});
