/**
 * `npm run demo`: the real bot, on this machine's Postgres and Redis, against a local Slack
 * stand-in. A flash sale breaks three syncs; two operators work the cards; the transcript shows
 * what Slack would show and what Postgres recorded. Needs no Slack workspace.
 */
import { fileURLToPath } from "node:url";
import { Queue, Worker } from "bullmq";
import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import postgres from "postgres";
import { standInBotToken, startFakeSlack } from "../dev/slack/fake-slack.js";
import { slackRequester } from "../dev/slack/signing.js";
import { loadEnv } from "../src/env.js";
import { type FailureEventInput, reportSyncFailure } from "../src/intake/failure-event.schema.js";
import { reportSyncSuccess } from "../src/outcomes/outcome-event.schema.js";
import { createLogger } from "../src/platform/logger.js";
import { clearPrefix } from "../src/platform/queue/redis.js";
import { startSyncdesk } from "../src/syncdesk.js";
import { demoRouting, latencyGateScenes } from "./demo-gates.js";
import { plain, renderMessage } from "./transcript.js";

const NAMES: Record<string, string> = {
  U0ALICE: "alice",
  U0BOB: "bob",
  U0CAROL: "carol",
  U0DAVE: "dave",
  U0MGR: "maria (manager)",
  U0SYNCDESK: "syncdesk",
};
const CHANNELS: Record<string, string> = {
  C0FULFILL: "#fulfillment-ops",
  C0ADS: "#ads-ops",
  C0STOREFRONT: "#storefront-ops",
};
const SIGNING_SECRET = "demo-signing-secret-not-a-real-one";
const DEMO_DB = process.env.DEMO_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/syncdesk_demo";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const ROUTING = demoRouting(fileURLToPath(new URL("../routing.example.yml", import.meta.url)));

const say = (text = "") => console.log(text);
const step = (time: string, text: string) => say(`\n\x1b[1m${time}  ${text}\x1b[0m`);

async function main() {
  await resetDatabase(DEMO_DB);
  const fake = await startFakeSlack({
    usergroups: { S0FULFILL: ["U0ALICE", "U0BOB"], S0STOREFRONT: ["U0ERIN"] },
    users: Object.entries(NAMES).map(([id, name]) => ({ id, name })),
  });
  const prefix = `demo-${process.pid}`;
  const env = loadEnv({
    SLACK_BOT_TOKEN: standInBotToken(),
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fake.url,
    PORT: "0",
    DATABASE_URL: DEMO_DB,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    ROUTING_FILE: ROUTING,
    RETRY_POLL_MS: "250",
    LOG_LEVEL: "silent",
  });
  const bot = await startSyncdesk(env, {
    roles: ["web", "worker"],
    logger: createLogger("silent"),
  });
  const slack = slackRequester({
    url: `http://127.0.0.1:${bot.port}`,
    signingSecret: SIGNING_SECRET,
  });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const failures = new Queue(env.FAILURE_QUEUE, { connection: redis, prefix });
  const outcomes = new Queue(env.OUTCOME_QUEUE, { connection: redis, prefix });
  // The agency's own feed publisher: the queue Retry puts jobs back on.
  const publisher = new Worker(
    "feed-publisher",
    async (job) => {
      if (String(job.data.sku).endsWith("-02"))
        throw new Error("Merchant Center still rejects item: missing [gtin]");
      return { published: job.data.sku };
    },
    { connection: redis.duplicate(), prefix },
  );

  const cards = () =>
    bot.deps.db.query.exceptions.findMany({ orderBy: (e, { asc }) => [asc(e.id)] });
  const until = async <T>(
    what: string,
    probe: () => Promise<T | undefined | null | false>,
  ): Promise<T> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = await probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`demo stalled waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const cardOf = async (sku: string) =>
    until(`the card for ${sku}`, async () =>
      (await cards()).find((row) => row.sku === sku && row.cardTs),
    );
  /** Slack's side has caught up with the row: none of its outbox rows is still to go. */
  const drawn = (exceptionId: number) =>
    until(`the card of EX-${exceptionId} drawn`, async () => {
      const [left] = await bot.deps.db.execute<{ n: number }>(sql`
        select count(*)::int as n from slack_outbox
        where exception_id = ${exceptionId} and state in ('pending', 'sending')`);
      return left?.n === 0;
    });
  const showCard = async (sku: string) => {
    const row = await cardOf(sku);
    await drawn(row.id);
    showRow(row);
  };
  const showRow = (row: Awaited<ReturnType<typeof cardOf>>) => {
    const message = fake.messages(row.channel).find((m) => m.ts === row.cardTs);
    say(`  ${CHANNELS[row.channel] ?? row.channel}`);
    if (message) say(renderMessage(message, NAMES));
    for (const reply of fake.threadReplies(row.channel, row.cardTs ?? "")) {
      say(`    ↳ ${plain(String(reply.text), NAMES)}`);
    }
  };
  const click = async (user: string, sku: string, actionId: string) => {
    const row = await cardOf(sku);
    const responseUrl = fake.responseUrl();
    await slack.blockAction({
      userId: user,
      userName: NAMES[user],
      channelId: row.channel,
      messageTs: row.cardTs ?? "",
      actionId,
      value: String(row.id),
      responseUrl,
    });
    return responseUrl.split("/").pop() ?? "";
  };
  const told = async (responseId: string, who: string) => {
    const reply = (await fake.waitForResponse(responseId, 3000).catch(() => null)) as {
      text?: string;
    } | null;
    if (reply?.text) say(`  (only ${NAMES[who]} sees) ${plain(reply.text, NAMES)}`);
  };
  const event = (sku: string, extra: Partial<FailureEventInput>): FailureEventInput => ({
    eventId: `${sku}-${Math.random().toString(36).slice(2, 10)}`,
    occurredAt: new Date().toISOString(),
    client: "acme",
    sku,
    sourceSystem: "erp.netsuite",
    targetSystem: "marketplace.amazon",
    failureMode: "throttled",
    error: {
      message: "429 Too Many Requests: concurrency limit of 5 exceeded",
      code: "SSS_REQUEST_LIMIT_EXCEEDED",
      httpStatus: 429,
    },
    attempts: 6,
    ...extra,
  });

  say(
    "syncdesk demo — a flash sale on a Thursday morning. Slack is played locally; Postgres and Redis are real.",
  );

  step("09:00", "The flash sale opens. NetSuite throttles the ERP → Amazon stock feed.");
  for (let i = 0; i < 3; i++) await reportSyncFailure(failures, event("ACME-HOODIE-M", {}));
  await reportSyncFailure(failures, event("ACME-BEANIE", {}));
  await until("three occurrences", async () =>
    (await cards()).find((r) => r.sku === "ACME-HOODIE-M" && r.occurrences === 3),
  );
  await showCard("ACME-HOODIE-M");
  say("  (three failures of the same SKU, target and mode: one card, three occurrences)");

  step("09:04", "Google Merchant Center changed its feed schema; ad items for acme are rejected.");
  for (const sku of ["ACME-TEE-01", "ACME-TEE-02"]) {
    await reportSyncFailure(
      failures,
      event(sku, {
        targetSystem: "ads.google-merchant",
        failureMode: "schema_mismatch",
        error: {
          message: "Item rejected: attribute [size_system] is required since feed spec v2026-11",
          code: "INVALID_ATTRIBUTE",
          httpStatus: 400,
        },
        attempts: 3,
        links: [
          {
            label: "Merchant Center diagnostics",
            url: "https://merchants.google.com/mc/diagnostics?a=123",
          },
        ],
        retry: { queue: "feed-publisher", name: "publish-item", data: { client: "acme", sku } },
      }),
    );
  }
  await showCard("ACME-TEE-01");

  step("09:06", "Shopify accepts only part of a stock write for lumen-beauty.");
  await reportSyncFailure(
    failures,
    event("LUMEN-SERUM-30ML", {
      client: "lumen-beauty",
      sourceSystem: "wms.shipbob",
      targetSystem: "storefront.shopify",
      failureMode: "partial_write",
      error: {
        message: "inventory_levels/set: 1 of 2 locations updated (location 'Berlin DC' locked)",
        httpStatus: 207,
      },
      quantity: { expected: 40, observed: 12 },
    }),
  );
  await showCard("LUMEN-SERUM-30ML");

  step(
    "09:07",
    "A producer sends a malformed event (a bad failure mode, a negative attempt count, a SKU that tries to ping the channel).",
  );
  await failures.add("sync.failed", {
    eventId: "bad-1",
    client: "acme",
    sku: "<!channel>",
    failureMode: "exploded",
    attempts: -1,
  });
  const rejected = await until("the rejected-event card", async () =>
    fake.messages("C0FULFILL").find((m) => / rejected from /.test(String(m.text))),
  );
  say("  #fulfillment-ops");
  say(renderMessage(rejected, NAMES));

  step("09:10", "alice and bob both click Claim on the hoodie card at the same moment.");
  const [a, b] = await Promise.all([
    click("U0ALICE", "ACME-HOODIE-M", "exception.claim"),
    click("U0BOB", "ACME-HOODIE-M", "exception.claim"),
  ]);
  await until("the claim", async () =>
    (await cards()).find((r) => r.sku === "ACME-HOODIE-M" && r.claimedBy),
  );
  await told(a, "U0ALICE");
  await told(b, "U0BOB");
  await showCard("ACME-HOODIE-M");

  step("09:12", "alice tries to claim an ads card; she is not in ads-ops.");
  await told(await click("U0ALICE", "ACME-TEE-01", "exception.claim"), "U0ALICE");

  step("09:15", "carol (ads-ops) re-maps the feed and clicks Retry on both tee cards.");
  await click("U0CAROL", "ACME-TEE-01", "exception.claim");
  await click("U0CAROL", "ACME-TEE-01", "exception.retry");
  await click("U0CAROL", "ACME-TEE-02", "exception.claim");
  await click("U0CAROL", "ACME-TEE-02", "exception.retry");
  await until("the retry results", async () => {
    const rows = await cards();
    const tee1 = rows.find((r) => r.sku === "ACME-TEE-01");
    const tee2 = rows.find((r) => r.sku === "ACME-TEE-02");
    return tee1?.state === "resolved" && tee2?.lastRetryError && tee2.state === "claimed";
  });
  await showCard("ACME-TEE-01");
  await showCard("ACME-TEE-02");

  step("09:21", "carol fixes the GTIN mapping by hand and resolves the second tee with a note.");
  const tee2 = await cardOf("ACME-TEE-02");
  await click("U0CAROL", "ACME-TEE-02", "exception.resolve");
  const opened = await fake.waitForCall("views.open");
  const view = (opened.body as { view: { private_metadata: string } }).view;
  await slack.viewSubmission({
    userId: "U0CAROL",
    userName: "carol",
    callbackId: "exception.resolve.submit",
    privateMetadata: view.private_metadata,
    values: {
      note: {
        value: {
          type: "plain_text_input",
          value: "Added gtin to the feed rules for the tee range; re-published by hand.",
        },
      },
      root_cause: {
        value: { type: "static_select", selected_option: { value: "mapping_schema" } },
      },
    },
  });
  await until("the resolution", async () =>
    (await cards()).find((r) => r.id === tee2.id && r.state === "resolved"),
  );
  await showCard("ACME-TEE-02");

  step(
    "09:30",
    "ShipBob's next sync of the serum succeeds: the partial write recovered by itself.",
  );
  await reportSyncSuccess(outcomes, {
    kind: "sync.succeeded",
    client: "lumen-beauty",
    sku: "LUMEN-SERUM-30ML",
    targetSystem: "storefront.shopify",
    occurredAt: new Date(Date.now() + 1000).toISOString(),
  });
  await until("recovery", async () =>
    (await cards()).find((r) => r.sku === "LUMEN-SERUM-30ML" && r.state === "resolved"),
  );
  await showCard("LUMEN-SERUM-30ML");

  const shown = (row: Awaited<ReturnType<typeof cardOf>>) =>
    [
      fake.messages(row.channel).find((m) => m.ts === row.cardTs),
      ...fake.threadReplies(row.channel, row.cardTs ?? ""),
    ]
      .map((message) => JSON.stringify(message ?? ""))
      .join("\n");
  await latencyGateScenes({ outcomes, step, say, cards, until, show: showRow, shown });

  step("09:35", "maria, the fulfillment manager, asks for the status (see its Freshness section).");
  const statusId = fake.responseUrl().split("/").pop() ?? "";
  await slack.command({
    command: "/inventory",
    text: "status",
    userId: "U0MGR",
    channelId: "C0FULFILL",
    responseUrl: fake.responseUrl(statusId),
  });
  const status = (await fake.waitForResponse(statusId, 5000)) as {
    text?: string;
    blocks?: unknown[];
  };
  say(
    status.blocks
      ? renderMessage(status as Record<string, unknown>, NAMES)
      : plain(status.text ?? "", NAMES).replace(/^/gm, "  "),
  );

  step("", "The hand-off record in Postgres (audit_log):");
  const audit = await bot.deps.db.query.auditLog.findMany({ orderBy: (a, { asc }) => [asc(a.id)] });
  say(
    `  ${"exception".padEnd(10)}${"actor".padEnd(18)}${"action".padEnd(20)}${"state".padEnd(22)}note`,
  );
  for (const row of audit) {
    const subject = row.exceptionId
      ? `EX-${row.exceptionId}`
      : row.rejectedEventId
        ? `REJ-${row.rejectedEventId}`
        : "";
    const state =
      row.stateBefore || row.stateAfter
        ? `${row.stateBefore ?? "—"} → ${row.stateAfter ?? "—"}`
        : "";
    say(
      `  ${subject.padEnd(10)}${(NAMES[row.actor] ?? row.actor).padEnd(18)}${row.action.padEnd(20)}${state.padEnd(22)}${(row.note ?? "").slice(0, 60)}`,
    );
  }
  const calls = fake.calls.reduce<Record<string, number>>((counts, call) => {
    counts[call.method] = (counts[call.method] ?? 0) + 1;
    return counts;
  }, {});
  say(
    `\nSlack Web API calls: ${Object.entries(calls)
      .map(([m, n]) => `${m} ${n}`)
      .join(", ")}`,
  );
  say(`Block Kit problems found by the stand-in: ${fake.violations.length}`);

  await publisher.close();
  await failures.close();
  await outcomes.close();
  await bot.stop();
  await clearPrefix(redis, prefix);
  await redis.quit();
  await fake.close();
  say(
    "\nDemo finished. The demo database stays in place for a look: psql postgres://postgres@127.0.0.1:5432/syncdesk_demo",
  );
}

async function resetDatabase(url: string) {
  const admin = new URL(url);
  const name = admin.pathname.slice(1);
  admin.pathname = "/postgres";
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  await sql.unsafe(`drop database if exists "${name}" with (force)`);
  await sql.end();
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
