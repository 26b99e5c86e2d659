/**
 * Button clicks are acknowledged at the edge, and recorded before they are. A `block_actions`
 * request wants an empty 200 and nothing more (every listener of ours acks a click before doing
 * its work), and Slack shows the clicker an error if that answer is late; it never sends a click
 * again. One web process has one event loop: through Bolt's flow, each ack in a burst of clicks
 * would also wait for the dispatch and the database work of the clicks before it.
 *
 * So once the receiver has verified a click (size, signature, window, replay), the click is
 * written to a BullMQ queue (`slack-clicks`, job id from the request's signature, so the same
 * request cannot be queued twice) and only then answered 200. The clicks verified in one turn
 * of the event loop are written together (one `addBulk`): in a burst, one write for many.
 * Every web process consumes that queue and hands each click to Bolt's `app.processEvent` with
 * a no-op ack (the answer went out), one click per turn of the event loop, and only while no
 * request to the endpoint is waiting for its answer, or once the click has waited
 * `maxHoldMs`: acks first, work right after.
 *
 * A click acked by a process that then dies is not lost: it waits in Redis (done by the next web
 * process to look) or its job lock runs out and BullMQ's stalled check hands it to another.
 * A job is at least once: a click whose change committed just before a crash runs again, and the
 * state machine refuses the repeat (already claimed by you), so no second change or audit row.
 * SIGTERM waits (bounded) for the clicks this process acked.
 */
import type { ServerResponse } from "node:http";
import type { App } from "@slack/bolt";
import { type Job, Queue, type Telemetry, UnrecoverableError } from "bullmq";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { Logger } from "../logger.js";
import { startWorker, type WorkerHandle } from "../queue/worker.js";
import { withTimeout } from "./request-checks.js";

export const CLICK_QUEUE = "slack-clicks";

/** What is recorded of a click: what Bolt is handed, and when it was acked. */
const clickJob = z.object({
  body: z.record(z.string(), z.unknown()),
  /** Epoch ms of the ack; the hold counts from it, in whichever process does the click. */
  ackedAt: z.number(),
});
type ClickJob = z.infer<typeof clickJob>;

export interface ClickEdgeOptions {
  connection: Redis;
  prefix: string;
  logger: Logger;
  /** The job lock: how soon another process takes over the clicks of one that died. */
  lockMs?: number;
  /** Clicks one process works on at once. */
  concurrency?: number;
  /** A click's work waits at most this long for the answers to other requests (1 s). */
  maxHoldMs?: number;
  /** How long SIGTERM waits for the clicks this process acked (6 s). */
  drainMs?: number;
  /** Slack wants its answer within 3 s: the record gets half of that (1.5 s). */
  recordTimeoutMs?: number;
  /** BullMQ's OpenTelemetry hooks: a click's record and its work are spans of one trace. */
  telemetry?: Telemetry;
}

export interface ClickEdge {
  /** Counts a request to the endpoint from its arrival until it is answered (or dropped). */
  arrived(res: ServerResponse): void;
  /** Records a verified click; resolves once Redis holds it. Answer 200 only then. */
  record(click: Record<string, unknown>, signatureHash: string): Promise<void>;
  /** Starts doing recorded clicks: this process's, and those of any web process that died. */
  start(app: Pick<App, "processEvent">): void;
  /** Waits (bounded) for the clicks this process acked to be done, then stops. */
  stop(): Promise<void>;
}

export function createClickEdge(options: ClickEdgeOptions): ClickEdge {
  const { logger } = options;
  const maxHoldMs = options.maxHoldMs ?? 1000;
  const telemetry = options.telemetry ? { telemetry: options.telemetry } : {};
  const queue = new Queue(CLICK_QUEUE, {
    connection: options.connection,
    prefix: options.prefix,
    ...telemetry,
  });
  queue.on("error", (error) => logger.warn({ err: error, queue: CLICK_QUEUE }, "queue error"));
  /** Ids of the clicks this process acked and has not seen done. */
  const pending = new Set<string>();
  let worker: WorkerHandle | null = null;

  // ---- the record: the clicks that arrived in one turn of the event loop, in one write -----
  type ClickRecord = Parameters<typeof queue.addBulk>[0][number];
  let batch: { record: ClickRecord; done: (error?: unknown) => void }[] = [];
  const writeBatch = () => {
    const taken = batch;
    batch = [];
    const [first] = taken;
    const written =
      taken.length === 1 && first
        ? queue.add(first.record.name, first.record.data, first.record.opts)
        : queue.addBulk(taken.map((item) => item.record));
    written.then(
      () => {
        for (const item of taken) item.done();
      },
      (error: unknown) => {
        for (const item of taken) item.done(error ?? new Error("click record failed"));
      },
    );
  };
  const recordSoon = (record: ClickRecord) =>
    new Promise<void>((resolve, reject) => {
      if (batch.length === 0) setImmediate(writeBatch);
      batch.push({ record, done: (error) => (error ? reject(error) : resolve()) });
    });

  // ---- the hold: acks first, work right after --------------------------------------------
  const waiting: { ackedAt: number; go: () => void }[] = [];
  let unanswered = 0;
  let scheduled = false;
  let holding = false;
  const schedule = () => {
    if (scheduled || waiting.length === 0) return;
    scheduled = true;
    setImmediate(releaseNext);
  };
  function releaseNext(): void {
    scheduled = false;
    const next = waiting[0];
    if (!next) return;
    const held = Date.now() - next.ackedAt;
    if (unanswered > 0 && held < maxHoldMs) {
      // The last answer schedules again; so does the hold limit, if answers keep coming.
      if (!holding) {
        holding = true;
        setTimeout(() => {
          holding = false;
          schedule();
        }, maxHoldMs - held);
      }
      return;
    }
    waiting.shift();
    next.go();
    schedule();
  }
  const turn = (ackedAt: number) =>
    new Promise<void>((go) => {
      waiting.push({ ackedAt, go });
      schedule();
    });

  async function doClick(app: Pick<App, "processEvent">, job: Job): Promise<void> {
    try {
      const parsed = clickJob.safeParse(job.data);
      if (!parsed.success)
        throw new UnrecoverableError(`bad click record: ${parsed.error.message}`);
      const { body, ackedAt } = parsed.data;
      if (job.attemptsStarted > 1 || job.stalledCounter > 0)
        logger.info(
          { jobId: job.id, actions: actionIds(body) },
          "doing a click again: the process that took it stopped before it was done",
        );
      await turn(ackedAt);
      await app
        .processEvent({ body, ack: async () => {} })
        .catch((error: unknown) =>
          logger.error({ err: error, actions: actionIds(body) }, "click listener failed"),
        );
    } finally {
      if (job.id) pending.delete(job.id);
    }
  }

  return {
    arrived(res) {
      unanswered += 1;
      res.once("close", () => {
        unanswered -= 1;
        if (unanswered === 0) schedule();
      });
    },

    async record(click, signatureHash) {
      // ioredis holds commands while it reconnects and sends them later: a click answered 503
      // now must not be done then, so without a connection it is not recorded at all.
      if (options.connection.status !== "ready") throw new Error("Redis is not connected");
      const jobId = `click-${signatureHash}`;
      const data: ClickJob = { body: click, ackedAt: Date.now() };
      pending.add(jobId);
      try {
        await withTimeout(
          recordSoon({
            name: "click",
            data,
            opts: {
              jobId,
              attempts: 1,
              // Kept past the signature window, so the id still refuses a second copy.
              removeOnComplete: { age: 900 },
              removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
            },
          }),
          options.recordTimeoutMs ?? 1500,
        );
      } catch (error) {
        pending.delete(jobId);
        throw error;
      }
    },

    start(app) {
      if (worker) return;
      worker = startWorker(CLICK_QUEUE, (job) => doClick(app, job), {
        connection: options.connection,
        prefix: options.prefix,
        logger,
        concurrency: options.concurrency ?? 16,
        ...telemetry,
        ...(options.lockMs ? { lockMs: options.lockMs } : {}),
      });
    },

    async stop() {
      const deadline = Date.now() + (options.drainMs ?? 6000);
      let lastLook = 0;
      while (pending.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        // Another web process may have taken some of them: ask Redis now and then.
        if (Date.now() - lastLook < 250) continue;
        lastLook = Date.now();
        for (const id of [...pending]) {
          const state = await queue.getJobState(id).catch(() => "unknown");
          if (state === "completed" || state === "failed" || state === "unknown")
            pending.delete(id);
        }
      }
      if (pending.size > 0)
        logger.warn(
          { clicks: pending.size },
          "stopping with acked clicks not done yet; the next web process does them",
        );
      await worker?.close(Math.max(500, deadline - Date.now()));
      worker = null;
      await queue.close();
    },
  };
}

function actionIds(body: Record<string, unknown>): string[] {
  const actions = Array.isArray(body.actions) ? body.actions : [];
  return actions.map((a: { action_id?: unknown }) => String(a?.action_id ?? "")).slice(0, 5);
}
