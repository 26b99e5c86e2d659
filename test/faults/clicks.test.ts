/**
 * Clicks acked by a web process that then dies or is told to stop: Slack never sends a click
 * again, so what was answered 200 must still be done, and done once. 20 Claim clicks on 20
 * cards, all answered 200, then SIGKILL (a restarted web process does them) or SIGTERM (the
 * drain does them before the exit): every card ends claimed, with one claim audit row each.
 * The same when the clicks' work is in a `clicks` process, killed right after the acks: the web
 * process takes the work back.
 */
import { createServer } from "node:net";
import { Queue } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { slackRequester } from "../../dev/slack/signing.js";
import { ACTIONS } from "../../src/exceptions/card.js";
import { CLICK_QUEUE } from "../../src/platform/slack/edge-ack.js";
import { eventually, failureEvent } from "../support/harness.js";
import { SIGNING_SECRET, type Stage, startStage, waitForLine } from "./support.js";

const CARDS = 20;
let stage: Stage | undefined;
let clickQueue: Queue | undefined;
afterEach(async () => {
  await clickQueue?.close();
  clickQueue = undefined;
  await stage?.close();
  stage = undefined;
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

type Card = { id: number; channel: string; card_ts: string };

/** A worker, a web process and 20 posted cards. */
async function cardsOnStage(s: Stage, sku: string) {
  const port = await freePort();
  await s.start("worker");
  const web = await s.start("web", { PORT: String(port) });
  await s.report(Array.from({ length: CARDS }, (_, i) => failureEvent({ sku: `${sku}-${i}` })));
  const cards = await eventually(
    async () => {
      const rows = await s.sql<Card[]>`
        select id::int, channel, card_ts from exceptions
        where sku like ${`${sku}-%`} and card_ts is not null order by id`;
      return rows.length === CARDS ? rows : null;
    },
    60_000,
    `${CARDS} cards posted`,
  );
  return { port, web, cards };
}

/** Sends one signed Claim click per card, all at once; resolves when every one is answered. */
async function claimAll(s: Stage, port: number, cards: Card[]) {
  const slack = slackRequester({
    url: `http://127.0.0.1:${port}`,
    signingSecret: SIGNING_SECRET,
    responseUrl: () => s.fake.responseUrl(),
  });
  return Promise.all(
    cards.map((card) =>
      slack.blockAction({
        userId: "U0ALICE",
        channelId: card.channel,
        messageTs: card.card_ts,
        actionId: ACTIONS.claim,
        value: String(card.id),
      }),
    ),
  );
}

async function claims(s: Stage, cards: Card[]) {
  const ids = cards.map((card) => card.id);
  const claimed = await s.sql<{ id: number }[]>`
    select id::int from exceptions where id = any(${ids}) and claimed_by = 'U0ALICE'`;
  const audit = await s.sql<{ exception_id: number; n: number }[]>`
    select exception_id::int, count(*)::int as n from audit_log
    where exception_id = any(${ids}) and action = 'claim' group by exception_id`;
  return { claimed: claimed.length, auditRows: new Map(audit.map((r) => [r.exception_id, r.n])) };
}

/** Recorded clicks not yet done (waiting, active or delayed). */
async function clicksLeft(s: Stage): Promise<number> {
  clickQueue ??= new Queue(CLICK_QUEUE, { connection: s.redis, prefix: s.prefix });
  const counts = await clickQueue.getJobCounts("waiting", "active", "delayed", "prioritized");
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function expectOneClaimEach(found: Awaited<ReturnType<typeof claims>>, cards: Card[]) {
  expect(found.claimed).toBe(CARDS);
  expect(cards.map((card) => found.auditRows.get(card.id) ?? 0)).toEqual(
    Array.from({ length: CARDS }, () => 1),
  );
}

describe("clicks acked by a web process that then stops", () => {
  it("SIGKILL right after the acks: a restarted web process does every click, once", async () => {
    stage = await startStage();
    const s = stage;
    const { port, web, cards } = await cardsOnStage(s, "SKU-KILL");
    const answers = await claimAll(s, port, cards);
    web.child.kill("SIGKILL");
    expect(answers.map((res) => res.status)).toEqual(cards.map(() => 200));
    await web.exited;

    await s.start("web", { PORT: String(port) });
    // A click whose lock the dead process held comes back after the lock (QUEUE_LOCK_MS, 4 s).
    // Failing, it says how many were claimed (today's main: 0 of 20).
    await eventually(async () => (await claims(s, cards)).claimed === CARDS, 60_000).catch(
      () => {},
    );
    await eventually(async () => (await clicksLeft(s)) === 0, 30_000).catch(() => {});
    expectOneClaimEach(await claims(s, cards), cards);
    expect(await clicksLeft(s)).toBe(0);
  });

  it("SIGTERM right after the acks: the drain does every click before the exit", async () => {
    stage = await startStage();
    const s = stage;
    const { port, web, cards } = await cardsOnStage(s, "SKU-TERM");
    const answers = await claimAll(s, port, cards);
    const sentAt = Date.now();
    web.child.kill("SIGTERM");
    expect(answers.map((res) => res.status)).toEqual(cards.map(() => 200));
    const { code, at } = await web.exited;
    expect(code, web.output().slice(-2000)).toBe(0);
    expect(at - sentAt).toBeLessThan(10_000);
    // Nothing restarted: what the process acked, it did before it exited.
    expectOneClaimEach(await claims(s, cards), cards);
    expect(await clicksLeft(s)).toBe(0);
  });

  it("SIGKILL of the clicks process right after the acks: the web process does what it left, once", async () => {
    stage = await startStage();
    const s = stage;
    const { port, web, cards } = await cardsOnStage(s, "SKU-CLICKS");
    const clicks = await s.start("clicks");
    await waitForLine(web, "a clicks process is running: this web process leaves click work to it");
    const answers = await claimAll(s, port, cards);
    clicks.child.kill("SIGKILL");
    expect(answers.map((res) => res.status)).toEqual(cards.map(() => 200));
    await clicks.exited;

    // Its presence runs out (3 s), the web process takes the work back, and the clicks the
    // dead process held come back after their lock (QUEUE_LOCK_MS, 4 s).
    const takenBack = () =>
      web.output().split("no clicks process is running: this web process does its clicks").length -
      1;
    await eventually(async () => takenBack() === 2, 10_000, "the web process taking clicks back");
    await eventually(async () => (await claims(s, cards)).claimed === CARDS, 60_000).catch(
      () => {},
    );
    await eventually(async () => (await clicksLeft(s)) === 0, 30_000).catch(() => {});
    expectOneClaimEach(await claims(s, cards), cards);
    expect(await clicksLeft(s)).toBe(0);
  });
});
