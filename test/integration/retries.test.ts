/**
 * Retry follow-up: syncdesk watches the retry job it queued on the producer's queue. A
 * completed retry resolves the exception; a failed one hands it back with the error. Both
 * also when the job finished while no syncdesk worker was running: the next worker catches up.
 *
 * The bot runs as two processes here, as in production: a web process (the harness's own)
 * and a worker process that the tests stop and start again. The producer's side is a real
 * BullMQ worker on the retry queue.
 */
import { type Job, UnrecoverableError } from "bullmq";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import type { FailureEventInput } from "../../src/intake/failure-event.schema.js";
import { exceptions } from "../../src/platform/db/schema.js";
import type { Syncdesk } from "../../src/syncdesk.js";
import { eventually, failureEvent } from "../support/harness.js";
import {
  auditOf,
  buttonsOf,
  cardOf,
  click,
  DESK,
  posted,
  textOf,
  threadOf,
  USERS,
} from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const SUCCEEDS = "storefront-sync";
const FAILS = "ads-feed-sync";
/** No producer works this queue: its jobs wait until a test removes them. */
const PARKED = "wms-sync";

/** The bot's clock runs this far ahead of the wall clock (for the grace of a vanished job). */
let skewMs = 0;
const clock = { now: () => new Date(Date.now() + skewMs) };

let worker: Syncdesk;
const received: Job[] = [];

const h = useHarness({ ...DESK, roles: ["web"], start: { ...DESK.start, clock } });
beforeAll(async () => {
  worker = await h.startAnother(["worker"]);
  h.producerWorker(SUCCEEDS, async (job) => {
    received.push(job);
    return { synced: true };
  });
  h.producerWorker(FAILS, async () => {
    throw new UnrecoverableError("Google Merchant answered 503: try again later");
  });
});

let seq = 0;
async function openException(queue: string, overrides: Partial<FailureEventInput> = {}) {
  seq += 1;
  const sku = `SKU-RETRY-${seq}`;
  await h.report(
    failureEvent({ sku, retry: { queue, name: "sync.sku", data: { sku } }, ...overrides }),
  );
  const [row] = await posted(h, sku);
  return row!;
}

async function clickAndWait(userId: string, id: number, button: "claim" | "retry") {
  const replies = (await threadOf(h, id)).length;
  await click(h, userId, id, button);
  await eventually(async () => (await threadOf(h, id)).length > replies);
}

async function retryJob(queue: string, id: number, n = 1) {
  const job = await eventually(() => h.producerQueue(queue).getJob(`syncdesk-retry-${id}-${n}`));
  return job;
}

async function finished(queue: string, id: number, state: "completed" | "failed", n = 1) {
  const job = await retryJob(queue, id, n);
  await eventually(async () => (await job.getState()) === state, 10_000, `retry job ${state}`);
}

const resolvedCard = async (id: number) =>
  eventually(async () => {
    const text = textOf(await cardOf(h, id));
    return text.includes("*Resolved*") ? text : null;
  });

describe("a retry that completes", () => {
  it("resolves the exception automatically and says so on the card, in the thread and the audit", async () => {
    const row = await openException(SUCCEEDS);
    await clickAndWait(USERS.alice, row.id, "claim");
    await clickAndWait(USERS.alice, row.id, "retry");
    await eventually(async () => (await h.exception(row.id)).state === "resolved");
    const after = await h.exception(row.id);
    expect(after).toMatchObject({ resolution: "retry", resolvedBy: null, retryCount: 1 });
    expect(received.find((job) => job.data.sku === row.sku)?.data.syncdesk).toEqual({
      exceptionId: row.id,
      retryNumber: 1,
      requestedBy: USERS.alice,
    });
    const [audit] = await auditOf(h, row.id, "auto_resolved");
    expect(audit).toMatchObject({
      actor: "system",
      source: "retry-tracker",
      stateBefore: "retrying",
      stateAfter: "resolved",
    });
    expect(audit?.details).toMatchObject({
      retryNumber: 1,
      retryJobId: `syncdesk-retry-${row.id}-1`,
    });
    expect(await resolvedCard(row.id)).toContain("*Resolved* by retry #1 (queued by <@U0ALICE>)");
    expect(buttonsOf(await cardOf(h, row.id))).toEqual([]);
    await eventually(async () =>
      (await threadOf(h, row.id)).some((line) => line.includes("Retry #1 completed")),
    );
  });
});

describe("a retry that fails", () => {
  it("goes back to the person who held it, with the error, and may be retried again", async () => {
    const row = await openException(FAILS);
    await clickAndWait(USERS.bob, row.id, "claim");
    await clickAndWait(USERS.bob, row.id, "retry");
    await eventually(async () => (await h.exception(row.id)).state === "claimed");
    const after = await h.exception(row.id);
    expect(after).toMatchObject({
      claimedBy: USERS.bob,
      retryCount: 1,
      lastRetryError: "Google Merchant answered 503: try again later",
    });
    const [audit] = await auditOf(h, row.id, "retry_failed");
    expect(audit).toMatchObject({
      actor: "system",
      source: "retry-tracker",
      stateBefore: "retrying",
      stateAfter: "claimed",
      note: "Google Merchant answered 503: try again later",
    });
    const card = await eventually(async () => {
      const current = await cardOf(h, row.id);
      return textOf(current).includes("Retry #1 failed") ? current : null;
    });
    expect(textOf(card)).toContain(
      "Retry #1 failed: Google Merchant answered 503: try again later",
    );
    expect(textOf(card)).toContain("*Claimed* by <@U0BOB>");
    expect(buttonsOf(card)).toContain("Retry");
    await eventually(async () =>
      (await threadOf(h, row.id)).some((line) => line.includes("Back with <@U0BOB>")),
    );

    await clickAndWait(USERS.bob, row.id, "retry");
    await retryJob(FAILS, row.id, 2);
    await eventually(async () => (await auditOf(h, row.id, "retry_failed")).length === 2);
    expect(await h.exception(row.id)).toMatchObject({ state: "claimed", retryCount: 2 });
  });

  it("goes back to the open queue when nobody held it", async () => {
    const row = await openException(FAILS);
    await clickAndWait(USERS.dave, row.id, "retry");
    await eventually(async () => (await h.exception(row.id)).state === "open");
    expect(await h.exception(row.id)).toMatchObject({ claimedBy: null, retryCount: 1 });
    await eventually(async () =>
      (await threadOf(h, row.id)).some((line) => line.includes("Open again.")),
    );
  });
});

describe("while no syncdesk worker is running", () => {
  it("a retry that completed meanwhile resolves the exception once a worker starts", async () => {
    const row = await openException(SUCCEEDS);
    await clickAndWait(USERS.alice, row.id, "claim");
    await worker.stop();
    // The web process takes the click and queues the retry; the producer runs it. (The card
    // and thread catch up when a worker runs again: the Slack outbox is a worker's job.)
    await click(h, USERS.alice, row.id, "retry");
    await eventually(async () => (await h.exception(row.id)).state === "retrying");
    await finished(SUCCEEDS, row.id, "completed");
    expect((await h.exception(row.id)).state).toBe("retrying");

    worker = await h.startAnother(["worker"]);
    await eventually(async () => (await h.exception(row.id)).state === "resolved");
    expect((await h.exception(row.id)).resolution).toBe("retry");
    expect(await auditOf(h, row.id, "auto_resolved")).toHaveLength(1);
    expect(await resolvedCard(row.id)).toContain("Resolved* by retry #1");
  });

  it("a retry that failed meanwhile goes back to its holder once a worker starts", async () => {
    const row = await openException(FAILS);
    await clickAndWait(USERS.alice, row.id, "claim");
    await worker.stop();
    await click(h, USERS.alice, row.id, "retry");
    await eventually(async () => (await h.exception(row.id)).state === "retrying");
    await finished(FAILS, row.id, "failed");
    expect((await h.exception(row.id)).state).toBe("retrying");

    worker = await h.startAnother(["worker"]);
    await eventually(async () => (await h.exception(row.id)).state === "claimed");
    expect(await h.exception(row.id)).toMatchObject({
      claimedBy: USERS.alice,
      lastRetryError: "Google Merchant answered 503: try again later",
    });
    expect(await auditOf(h, row.id, "retry_failed")).toHaveLength(1);
  });
});

describe("a retry that cannot be followed", () => {
  it("does not hold up the others", async () => {
    const broken = await openException(PARKED);
    await clickAndWait(USERS.alice, broken.id, "retry");
    // A queue BullMQ refuses (stored before the contract refused it): reading it throws.
    await h.bot.deps.db
      .update(exceptions)
      .set({ retryQueue: "wms:sync" })
      .where(eq(exceptions.id, broken.id));
    const healthy = await openException(SUCCEEDS);
    await clickAndWait(USERS.bob, healthy.id, "retry");
    await eventually(async () => (await h.exception(healthy.id)).state === "resolved");
    expect((await h.exception(broken.id)).state).toBe("retrying");
  });
});

describe("a retry job that vanished from its queue", () => {
  it("is reported as failed ten minutes after the retry, even while failures keep coming", async () => {
    const row = await openException(PARKED);
    await clickAndWait(USERS.alice, row.id, "claim");
    await clickAndWait(USERS.alice, row.id, "retry");
    await (await retryJob(PARKED, row.id)).remove();
    try {
      // Nine minutes on, the same failure is reported again (an occurrence updates the row).
      skewMs = 9 * 60_000;
      await h.report(failureEvent({ sku: row.sku, retry: { queue: PARKED, name: "x", data: {} } }));
      await eventually(async () => (await h.exception(row.id)).occurrences === 2);
      expect((await h.exception(row.id)).state).toBe("retrying");
      // Eleven minutes after the retry was queued, its result is declared unknown.
      skewMs = 11 * 60_000;
      await eventually(async () => (await h.exception(row.id)).state === "claimed");
    } finally {
      skewMs = 0;
    }
    expect((await h.exception(row.id)).lastRetryError).toBe(
      `retry job syncdesk-retry-${row.id}-1 is no longer on queue ${PARKED}; its result is unknown`,
    );
    expect(await auditOf(h, row.id, "retry_failed")).toHaveLength(1);
  });
});
