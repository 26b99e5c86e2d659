/**
 * HTTP intake end to end: producers made with the producers CLI POST batches to /v1/events on
 * the web process; what they send is judged, stored and carded as if it came off the queue.
 * Every refusal path answers with its own status and code, and nothing it refused is kept.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { request } from "node:http";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { failureJobId } from "../../src/intake/failure-event.schema.js";
import {
  auditLog,
  producers,
  rejectedEvents,
  rejectionGroups,
} from "../../src/platform/db/schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import { failed, newProducer, postEvents, producersCli } from "../support/producers.js";
import { DESK, exceptionOf } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const MAX_BODY = 300_000;
const h = useHarness({
  ...DESK,
  env: {
    STORM_THRESHOLD: "1000",
    PRODUCER_MAX_BODY_BYTES: String(MAX_BODY),
    // Two events a second, one full batch of burst: the rate test empties its bucket at once.
    PRODUCER_RATE_PER_SEC: "2",
    PRODUCER_BURST: "500",
  },
});
const db = () => h.bot.deps.db;
const run = promisify(execFile);

async function failureJobs() {
  return h.bot.deps.queues.failures.getJobCounts();
}

describe("the producers CLI", () => {
  it("creates a producer whose token is shown once and stored only as its SHA-256", async () => {
    const { code, stdout } = await producersCli(
      h,
      "create",
      "netsuite-sync",
      "--role",
      "fulfillment-ops",
    );
    expect(code).toBe(0);
    const token = /sdp_[A-Za-z0-9_-]{43}/.exec(stdout)?.[0] as string;
    expect(token).toBeDefined();
    const [row] = await db().select().from(producers).where(eq(producers.name, "netsuite-sync"));
    expect(row).toMatchObject({
      role: "fulfillment-ops",
      tokenSha256: createHash("sha256").update(token).digest("hex"),
      revokedAt: null,
    });
    expect(JSON.stringify(row)).not.toContain(token);
    const [audit] = await db()
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, "producer_created"));
    expect(audit?.actor).toMatch(/^cli:/);
    expect(JSON.stringify(audit)).not.toContain(token);

    const listed = await producersCli(h, "list");
    expect(listed.stdout).toMatch(/netsuite-sync\s+live\s+role fulfillment-ops, token sdp_/);
    expect(listed.stdout).not.toContain(token);
  });

  it("refuses a taken name, an unknown role, a bad name, and a revoke of nobody", async () => {
    await newProducer(h, "taken-name");
    expect(await producersCli(h, "create", "taken-name")).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("exists"),
    });
    expect(await producersCli(h, "create", "other", "--role", "no-such-role")).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('There is no role "no-such-role"'),
    });
    expect((await producersCli(h, "create", "Bad Name")).code).toBe(1);
    expect((await producersCli(h, "revoke", "nobody")).code).toBe(1);
    expect((await producersCli(h, "create")).code).toBe(2);
  });
});

describe("npm run producers", () => {
  it("runs from a shell", { timeout: 90_000 }, async () => {
    const { stdout } = await run("npm", ["run", "--silent", "producers", "--", "list"], {
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
      env: {
        ...process.env,
        SLACK_BOT_TOKEN: "xoxb-test-token",
        SLACK_SIGNING_SECRET: h.env.SLACK_SIGNING_SECRET,
        DATABASE_URL: h.databaseUrl,
        REDIS_URL: h.env.REDIS_URL,
        QUEUE_PREFIX: h.env.QUEUE_PREFIX,
        LOG_LEVEL: "",
      },
    });
    expect(stdout).toMatch(/netsuite-sync\s+live/);
  });
});

describe("POST /v1/events refuses", () => {
  it("a request without a token, or with one that is no producer's (401, nothing taken)", async () => {
    const event = failureEvent({ sku: "SKU-NO-TOKEN" });
    const none = await postEvents(h, null, { events: [failed(event)] });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe("missing_token");
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const malformed = await postEvents(h, "not-a-token", { events: [failed(event)] });
    expect(malformed.body.error.code).toBe("malformed_token");
    const unknown = await postEvents(h, `sdp_${"A".repeat(43)}`, { events: [failed(event)] });
    expect(unknown).toMatchObject({ status: 401, body: { error: { code: "unknown_token" } } });
    expect(await h.exceptionsFor("SKU-NO-TOKEN")).toEqual([]);
    expect((await failureJobs()).waiting).toBe(0);
  });

  it("a revoked token, from the next request on", async () => {
    const token = await newProducer(h, "to-revoke");
    const first = await postEvents(h, token, {
      events: [failed(failureEvent({ sku: "SKU-RV-1" }))],
    });
    expect(first.status).toBe(202);
    const revoked = await producersCli(h, "revoke", "to-revoke");
    expect(revoked.code).toBe(0);
    const after = await postEvents(h, token, {
      events: [failed(failureEvent({ sku: "SKU-RV-2" }))],
    });
    expect(after).toMatchObject({ status: 401, body: { error: { code: "revoked_token" } } });
    expect(await h.exceptionsFor("SKU-RV-2")).toEqual([]);
    expect((await producersCli(h, "list")).stdout).toMatch(/to-revoke\s+revoked .* by cli:/);
  });

  it("a body that is not JSON, or not a batch (400)", async () => {
    const token = await newProducer(h, "bad-json");
    const broken = await postEvents(h, token, '{"events": [');
    expect(broken).toMatchObject({ status: 400, body: { error: { code: "invalid_json" } } });
    expect((await postEvents(h, token, [1, 2])).body.error.code).toBe("invalid_body");
    expect((await postEvents(h, token, { events: [] })).body.error.code).toBe("invalid_body");
    const text = await postEvents(h, token, "{}", { "content-type": "text/plain" });
    expect(text).toMatchObject({
      status: 415,
      body: { error: { code: "unsupported_media_type" } },
    });
  });

  it("a body over the limit (413), before reading it all", async () => {
    const token = await newProducer(h, "too-big");
    const padding = "x".repeat(MAX_BODY);
    const event = failureEvent({ sku: "SKU-TOO-BIG", error: { message: padding } });
    const answer = await postEvents(h, token, { events: [failed(event)] });
    expect(answer).toMatchObject({ status: 413, body: { error: { code: "too_large" } } });
    expect(await h.exceptionsFor("SKU-TOO-BIG")).toEqual([]);
  });

  it("a body over the limit sent without a length (chunked), cut off at the limit (413)", async () => {
    const token = await newProducer(h, "chunked");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: h.bot.port as number,
          path: "/v1/events",
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", (error: NodeJS.ErrnoException) =>
        // The server may close before every chunk is written: the answer still came first.
        error.code === "EPIPE" || error.code === "ECONNRESET" ? undefined : reject(error),
      );
      const chunk = "x".repeat(64 * 1024);
      req.write('{"events": ["');
      for (let sent = 0; sent <= MAX_BODY; sent += chunk.length) req.write(chunk);
      req.end('"]}');
    });
    expect(status).toBe(413);
  });

  it("more than 500 items (400), taking none of them", async () => {
    const token = await newProducer(h, "too-many");
    const events = Array.from({ length: 501 }, (_, i) =>
      failed(failureEvent({ sku: `SKU-MANY-${i}` })),
    );
    const answer = await postEvents(h, token, { events });
    expect(answer).toMatchObject({ status: 400, body: { error: { code: "too_many_events" } } });
    expect(answer.body.error.message).toContain("at most 500");
    expect(await h.exceptionsFor("SKU-MANY-0")).toEqual([]);
  });

  it("a producer over its rate (429 with Retry-After), and only that producer", async () => {
    const token = await newProducer(h, "flooder");
    const other = await newProducer(h, "bystander");
    // 500 events empty the bucket (burst 500); they are bad deliveries, counted in one group.
    const flood = Array.from({ length: 500 }, () => ({ name: "sync.succeeded", data: {} }));
    const first = await postEvents(h, token, { events: flood });
    expect(first.status).toBe(202);
    expect(first.body.rejected).toBe(500);
    const event = failureEvent({ sku: "SKU-RATE" });
    const limited = await postEvents(h, token, { events: [failed(event)] });
    expect(limited).toMatchObject({ status: 429, body: { error: { code: "rate_limited" } } });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(
      await db().select().from(rejectedEvents).where(eq(rejectedEvents.producer, "flooder")),
    ).toEqual([]);
    // Another producer's bucket is its own.
    const meanwhile = await postEvents(h, other, { events: [failed(event)] });
    expect(meanwhile.body.accepted).toBe(1);
    const [group] = await db().execute<{ count: string | number }>(
      sql`select count from delivery_rejections where source = 'flooder'`,
    );
    expect(Number(group?.count)).toBe(500);
  });
});

describe("a batch", () => {
  it("is answered per item: good ones carded, bad ones kept with the producer's name", async () => {
    const token = await newProducer(h, "mixed-producer");
    const good = failureEvent({ sku: "SKU-MIXED-GOOD", newField: "kept" } as never);
    const { client: _dropped, ...missingClient } = failureEvent({ sku: "SKU-MIXED-BAD" });
    const ownQueue = failureEvent({
      sku: "SKU-MIXED-OWN",
      retry: { queue: h.env.FAILURE_QUEUE, name: "x", data: {} },
    });
    const answer = await postEvents(h, token, {
      events: [
        failed(good),
        failed(missingClient),
        failed(good),
        {
          name: "sync.succeeded",
          data: {
            kind: "sync.succeeded",
            eventId: "mixed-delivery-1",
            client: "globex",
            sku: "SKU-MIXED-DELIVERY",
            targetSystem: "storefront.shopify",
            occurredAt: new Date().toISOString(),
          },
        },
        { name: "sync.started", data: { kind: "sync.started" } },
        failed(ownQueue),
        { name: "sync.exploded", data: {} },
      ],
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      producer: "mixed-producer",
      accepted: 2,
      duplicates: 1,
      rejected: 4,
    });
    const [r0, r1, r2, r3, r4, r5, r6] = answer.body.results;
    expect(r0).toEqual({
      index: 0,
      status: "accepted",
      eventId: good.eventId,
      jobId: failureJobId(good.eventId),
    });
    expect(r1).toMatchObject({
      status: "rejected",
      problems: [{ path: "client", message: "is required" }],
    });
    expect(r2).toMatchObject({ index: 2, status: "duplicate", eventId: good.eventId });
    expect(r3).toMatchObject({ status: "accepted", eventId: "mixed-delivery-1" });
    expect(r4.status).toBe("rejected");
    expect(r4.problems.length).toBeGreaterThan(0);
    expect(r5).toMatchObject({
      status: "rejected",
      problems: [{ path: "retry.queue", message: expect.stringContaining("own queue") }],
    });
    expect(r6).toMatchObject({ status: "rejected", problems: [{ path: "name" }] });

    // The good event is an exception with its card in the owning role's channel, its unknown
    // field kept with it.
    const row = await exceptionOf(h, good.eventId);
    expect(row).toMatchObject({ channel: "C0FULFILL", sku: "SKU-MIXED-GOOD" });
    expect((row.firstEvent as Record<string, unknown>).newField).toBe("kept");
    // The bad failure events are rejections, each naming the producer, each counted on its
    // producer-and-problem group's card.
    const rejections = await eventually(async () => {
      const rows = await db()
        .select()
        .from(rejectedEvents)
        .where(eq(rejectedEvents.producer, "mixed-producer"));
      if (rows.length !== 3 || rows.some((r) => r.groupId === null)) return null;
      const groups = await db()
        .select()
        .from(rejectionGroups)
        .where(eq(rejectionGroups.producer, "mixed-producer"));
      return groups.length >= 3 && groups.every((g) => g.cardTs) ? rows : null;
    });
    expect(rejections.map((r) => r.errors[0]?.path).sort()).toEqual([
      "client",
      "name",
      "retry.queue",
    ]);
    // The bad delivery is counted in its producer's group.
    const [group] = await db().execute<{ count: string | number }>(
      sql`select count from delivery_rejections where source = 'mixed-producer'`,
    );
    expect(Number(group?.count)).toBe(1);
  });

  it("takes snapshot parts: a whole snapshot completes once, a bad part is refused with its snapshot", async () => {
    const token = await newProducer(h, "stock-counter");
    const takenAt = new Date().toISOString();
    const part = (snapshotId: string, n: number, parts: number, items: object[]) => ({
      name: "snapshot.part",
      data: {
        snapshotId,
        client: "acme",
        system: "storefront.shopify",
        takenAt,
        part: n,
        parts,
        items,
      },
    });
    const answer = await postEvents(h, token, {
      events: [
        part("http-snap", 1, 2, [{ sku: "H-1", quantity: 3 }]),
        part("http-snap", 2, 2, [{ sku: "H-2", quantity: 4, location: "berlin" }]),
        part("http-snap", 1, 2, [{ sku: "H-1", quantity: 3 }]),
        part("http-snap-bad", 1, 1, [{ sku: "B-1", quantity: -2 }]),
      ],
    });
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ accepted: 2, duplicates: 1, rejected: 1 });
    const [, , again, bad] = answer.body.results;
    expect(again).toMatchObject({ status: "duplicate", jobId: "snapshot-aHR0cC1zbmFw-1" });
    expect(bad).toMatchObject({
      status: "rejected",
      problems: [{ path: "items.0.quantity", message: "must not be negative" }],
    });
    const snapshot = await eventually(async () => {
      const [row] = await db().execute<{ state: string }>(
        sql`select state from snapshots where id = 'http-snap'`,
      );
      return row?.state === "complete" ? row : null;
    });
    expect(snapshot.state).toBe("complete");
    const refused = await db().execute<{ detail: string }>(
      sql`select detail from snapshot_rejections where snapshot_id = 'http-snap-bad'`,
    );
    expect(refused).toHaveLength(1);
    expect(refused[0]?.detail).toContain("must not be negative");
  });

  it("sent again is all duplicates and changes nothing, on either way in", async () => {
    const token = await newProducer(h, "resender");
    const overHttp = failureEvent({ sku: "SKU-AGAIN-HTTP" });
    const overQueue = failureEvent({ sku: "SKU-AGAIN-QUEUE" });
    await h.report(overQueue);
    const first = await postEvents(h, token, { events: [failed(overHttp)] });
    expect(first.body.accepted).toBe(1);
    const card = await exceptionOf(h, overHttp.eventId);
    await exceptionOf(h, overQueue.eventId);
    const again = await postEvents(h, token, { events: [failed(overHttp), failed(overQueue)] });
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 2, rejected: 0 });
    // The BullMQ way in dedupes on the same job id the HTTP one used.
    await h.report(overHttp);
    expect((await h.exception(card.id)).occurrences).toBe(1);
    expect(await h.exceptionsFor("SKU-AGAIN-HTTP")).toHaveLength(1);
  });

  it("is served beside /slack/events with its OpenAPI document", async () => {
    const response = await fetch(`http://127.0.0.1:${h.bot.port}/v1/openapi.json`);
    expect(response.status).toBe(200);
    const document = await response.json();
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths)).toContain("/v1/events");
    expect(document.components.schemas.EventBatch.properties.events.maxItems).toBe(500);
  });
});
