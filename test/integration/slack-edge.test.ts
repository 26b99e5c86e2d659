/**
 * The HTTP edge as an attacker and as Slack's retry machinery see it: forged, stale, replayed
 * and oversized requests are refused with 401/413 and leave an audit row that holds no body;
 * a replay is refused by a second web replica too; Slack's event retries run listeners once.
 */
import { request } from "node:http";
import { Queue } from "bullmq";
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendSigned, slackRequester } from "../../dev/slack/signing.js";
import { ACTIONS } from "../../src/exceptions/card.js";
import { auditLog } from "../../src/platform/db/schema.js";
import { CLICK_QUEUE } from "../../src/platform/slack/edge-ack.js";
import {
  REJECTIONS_RECORDED_PER_MINUTE,
  recordRejectedRequest,
} from "../../src/security/slack-edge.js";
import { eventually, failureEvent, SIGNING_SECRET } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

const FORM = "application/x-www-form-urlencoded";
const h = useHarness();
let clicks: Queue;
beforeAll(() => {
  clicks = new Queue(CLICK_QUEUE, {
    connection: h.bot.deps.queues.connection,
    prefix: h.bot.deps.queues.prefix,
  });
});
afterAll(async () => {
  await clicks?.close();
});

const nowSec = () => Math.floor(Date.now() / 1000);

async function rejections() {
  return h.bot.deps.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.source, "http"), eq(auditLog.action, "request_rejected")))
    .orderBy(asc(auditLog.id));
}

/** The audit row of a rejection after row `afterId` (rows are written after the answer). */
async function rejectionAfter(afterId: number, reason: string) {
  return eventually(
    async () =>
      (await rejections()).find(
        (row) => row.id > afterId && (row.details as { reason?: string }).reason === reason,
      ),
    5000,
    `a ${reason} rejection`,
  );
}

async function lastRejectionId(): Promise<number> {
  return (await rejections()).at(-1)?.id ?? 0;
}

async function cardFor(sku: string) {
  await h.report(failureEvent({ sku }));
  return eventually(async () => (await h.exceptionsFor(sku)).find((row) => row.cardTs));
}

function claimBody(exceptionId: number, cardTs: string, userId = "U0ALICE"): string {
  const payload = {
    type: "block_actions",
    user: { id: userId, username: "alice", name: "alice", team_id: "T0TEAM" },
    api_app_id: "A0SYNCDESK",
    token: "fake-verification-token",
    trigger_id: `${Date.now()}.1.abc`,
    team: { id: "T0TEAM", domain: "syncdesk-test" },
    container: { type: "message", message_ts: cardTs, channel_id: "C0FULFILL" },
    channel: { id: "C0FULFILL", name: "c0fulfill" },
    message: { type: "message", ts: cardTs, text: "", blocks: [] },
    response_url: h.fake.responseUrl(),
    actions: [
      {
        type: "button",
        action_id: ACTIONS.claim,
        block_id: "actions",
        value: String(exceptionId),
        action_ts: `${nowSec()}.000001`,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

describe("signature checks", () => {
  it("refuses a forged signature with 401 and records it without the body", async () => {
    const mark = await lastRejectionId();
    const res = await h.slack.command(
      {
        command: "/inventory",
        text: "status SECRET-BODY-MARKER",
        userId: "U0ALICE",
        channelId: "C0FULFILL",
      },
      { signingSecret: "not-the-signing-secret" },
    );
    expect(res.status).toBe(401);
    const row = await rejectionAfter(mark, "bad_signature");
    expect(row.actor).toBe("system");
    expect(row.details).toMatchObject({
      reason: "bad_signature",
      method: "POST",
      path: "/slack/events",
      remoteAddress: expect.stringMatching(/127\.0\.0\.1/),
      contentLength: expect.any(Number),
    });
    const text = JSON.stringify(row);
    expect(text).not.toContain("SECRET-BODY-MARKER");
    expect(text).not.toContain(SIGNING_SECRET);
    expect(text).not.toMatch(/v0=[0-9a-f]{64}/);
    expect(h.fake.callsTo("chat.postEphemeral")).toHaveLength(0);
  });

  it("refuses timestamps outside the 5-minute window, past and future", async () => {
    const mark = await lastRejectionId();
    const input = { command: "/inventory", text: "help", userId: "U0ALICE", channelId: "C0X" };
    const staleSec = nowSec() - 301;
    const stale = await h.slack.command(input, { timestampSec: staleSec });
    const future = await h.slack.command(input, { timestampSec: nowSec() + 400 });
    const garbage = await h.slack.raw("command=%2Finventory", FORM, {
      headers: { "x-slack-request-timestamp": "soon" },
    });
    expect([stale.status, future.status, garbage.status]).toEqual([401, 401, 401]);
    const reasons = await eventually(async () => {
      const rows = (await rejections()).filter((row) => row.id > mark);
      return rows.length >= 3 ? rows.map((row) => row.details) : null;
    });
    expect(reasons).toHaveLength(3);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reason: "stale", timestamp: String(staleSec) }),
        expect.objectContaining({ reason: "stale" }),
        expect.objectContaining({ reason: "bad_timestamp", timestamp: "soon" }),
      ]),
    );
    // Inside the window both ways is fine.
    const skewed = await h.slack.command(input, { timestampSec: nowSec() + 60 });
    expect(skewed.status).toBe(200);
  });

  it("refuses a request without signature headers", async () => {
    const mark = await lastRejectionId();
    const res = await fetch(`http://127.0.0.1:${h.bot.port}/slack/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "event_callback", event: { type: "app_mention" } }),
    });
    expect(res.status).toBe(401);
    expect((await rejectionAfter(mark, "missing_signature")).details).toMatchObject({
      timestamp: null,
    });
  });
});

describe("replays", () => {
  it("acts on a click once and refuses the same signed request again", async () => {
    const row = await cardFor("SKU-REPLAY");
    const body = claimBody(row.id, row.cardTs!);
    const timestampSec = nowSec();
    const first = await h.slack.raw(body, FORM, { timestampSec });
    expect(first.status).toBe(200);
    await eventually(async () => (await h.exception(row.id)).claimedBy === "U0ALICE");

    const mark = await lastRejectionId();
    const again = await h.slack.raw(body, FORM, { timestampSec });
    expect(again.status).toBe(401);
    expect((await rejectionAfter(mark, "replayed")).details).toMatchObject({
      timestamp: String(timestampSec),
    });
    const claims = (await h.audit(row.id)).filter((entry) => entry.action === "claim");
    expect(claims).toHaveLength(1);
    // One recorded click for the two requests.
    const recorded = (await clicks.getJobs(["completed", "waiting", "active"])).filter(
      (job) => (job.data.body.actions as { value: string }[])[0]?.value === String(row.id),
    );
    expect(recorded).toHaveLength(1);
  });

  it("a click done a second time (its process died before marking it done) changes nothing", async () => {
    const row = await cardFor("SKU-REDELIVERED");
    const res = await h.slack.raw(claimBody(row.id, row.cardTs!), FORM);
    expect(res.status).toBe(200);
    await eventually(async () => (await h.exception(row.id)).claimedBy === "U0ALICE");
    const [done] = (await clicks.getJobs(["completed", "active", "waiting"])).filter(
      (job) => (job.data.body.actions as { value: string }[])[0]?.value === String(row.id),
    );
    await eventually(async () => (await clicks.getJobState(done!.id!)) === "completed");
    const before = await h.exception(row.id);
    const auditBefore = await h.audit(row.id);

    // What BullMQ's stalled check does after a crash: the same click, run again.
    const again = await clicks.add("click", done!.data, { jobId: `${done!.id}-again` });
    await eventually(async () => (await again.getState()) === "completed");
    const after = await h.exception(row.id);
    expect(after.claimedBy).toBe("U0ALICE");
    expect(after.updatedAt).toEqual(before.updatedAt);
    expect(await h.audit(row.id)).toEqual(auditBefore);
    expect(auditBefore.filter((entry) => entry.action === "claim")).toHaveLength(1);
  });

  it("refuses a replay sent to another web replica", async () => {
    const other = await h.startAnother(["web"]);
    const otherSlack = slackRequester({
      url: `http://127.0.0.1:${other.port}`,
      signingSecret: SIGNING_SECRET,
    });
    const body = "command=%2Finventory&text=help&user_id=U0ALICE&channel_id=C0X&response_url=";
    const timestampSec = nowSec();
    expect(
      (
        await h.slack.raw(`${body}${encodeURIComponent(h.fake.responseUrl())}`, FORM, {
          timestampSec,
        })
      ).status,
    ).toBe(200);
    const replay = await otherSlack.raw(
      `${body}${encodeURIComponent(h.fake.responseUrl())}`,
      FORM,
      { timestampSec },
    );
    // A different body is a different signature: only an identical request is a replay.
    expect(replay.status).toBe(200);
    const same = `${body}x`;
    expect((await h.slack.raw(same, FORM, { timestampSec })).status).toBe(200);
    expect((await otherSlack.raw(same, FORM, { timestampSec })).status).toBe(401);
  });
});

describe("size limit", () => {
  it("answers 413 with a clear message before reading a huge body", async () => {
    const mark = await lastRejectionId();
    const body = `payload=${"x".repeat(2 * 1024 * 1024)}`;
    const res = await h.slack.raw(body, FORM);
    expect(res.status).toBe(413);
    expect(res.body).toContain("larger than 1024 KiB");
    expect((await rejectionAfter(mark, "too_large")).details).toMatchObject({
      contentLength: Buffer.byteLength(body),
    });
  });

  it("stops a chunked body without Content-Length at the limit", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: h.bot.port!, path: "/slack/events", method: "POST" },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.setHeader("content-type", FORM);
      const chunk = "y".repeat(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 40) {
          sent += 1;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
  });
});

describe("Slack's own retries", () => {
  it("runs event listeners once per event_id and acks the retries", async () => {
    const seen: string[] = [];
    h.bot.app!.event("app_mention", async ({ body }) => {
      seen.push((body as { event_id: string }).event_id);
    });
    const event = {
      type: "app_mention",
      user: "U0ALICE",
      text: "hi",
      channel: "C0FULFILL",
      ts: "1.2",
    };
    const first = await h.slack.event(event, { timestampSec: nowSec() - 2 });
    expect(first.status).toBe(200);
    const retry = await h.slack.event(event, {
      eventId: first.eventId,
      retryNum: 1,
      retryReason: "http_timeout",
      timestampSec: nowSec(),
    });
    expect(retry.status).toBe(200);
    const other = await h.slack.event(event);
    await eventually(async () => seen.length >= 2);
    expect(seen).toEqual([first.eventId, other.eventId]);
  });

  it("lets a retry run the listeners again when the first delivery failed", async () => {
    let calls = 0;
    h.bot.app!.event("reaction_added", async () => {
      calls += 1;
      if (calls === 1) throw new Error("listener failed the first time");
    });
    const event = { type: "reaction_added", user: "U0ALICE", reaction: "eyes", item: {} };
    const first = await h.slack.event(event, { timestampSec: nowSec() - 1 });
    await eventually(async () => calls === 1);
    await h.slack.event(event, { eventId: first.eventId, retryNum: 1, timestampSec: nowSec() });
    await eventually(async () => calls === 2);
  });
});

describe("what still passes", () => {
  it("serves health checks and Slack's unsigned ssl_check, and answers url_verification", async () => {
    expect((await fetch(`http://127.0.0.1:${h.bot.port}/healthz`)).status).toBe(200);
    const ssl = await fetch(`http://127.0.0.1:${h.bot.port}/slack/events`, {
      method: "POST",
      headers: { "content-type": FORM },
      body: "ssl_check=1&token=x",
    });
    expect(ssl.status).toBe(200);
    const verify = await h.slack.raw(
      JSON.stringify({ type: "url_verification", challenge: "c-123", token: "t" }),
      "application/json",
    );
    expect(verify.json).toEqual({ challenge: "c-123" });
  });
});

describe("a flood of forged requests", () => {
  it("refuses them all", async () => {
    const target = { url: `http://127.0.0.1:${h.bot.port}`, signingSecret: "wrong-secret-123" };
    const statuses = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        sendSigned(target, `n=${i}`, FORM).then((res) => res.status),
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([401]));
  });

  it(`records at most ${REJECTIONS_RECORDED_PER_MINUTE} of them a minute`, async () => {
    const minute = new Date("2031-01-01T10:00:00Z");
    const deps = { ...h.bot.deps, clock: { now: () => minute } };
    const rejection = {
      reason: "bad_signature" as const,
      method: "POST",
      path: "/slack/events",
      timestamp: "1",
      remoteAddress: "203.0.113.9",
      forwardedFor: null,
      contentLength: 3,
      retryNum: null,
      userAgent: null,
    };
    for (let i = 0; i < REJECTIONS_RECORDED_PER_MINUTE + 20; i++)
      await recordRejectedRequest(deps, rejection);
    const rows = (await rejections()).filter((row) => row.at.getTime() === minute.getTime());
    expect(rows).toHaveLength(REJECTIONS_RECORDED_PER_MINUTE);
    await recordRejectedRequest(
      { ...deps, clock: { now: () => new Date("2031-01-01T10:01:00Z") } },
      rejection,
    );
    expect((await rejections()).at(-1)?.at.toISOString()).toBe("2031-01-01T10:01:00.000Z");
  });
});
