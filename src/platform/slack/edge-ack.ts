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
 * A process that does clicks consumes that queue and hands each click to Bolt's
 * `app.processEvent` with a no-op ack (the answer went out), one click per turn of the event
 * loop, and only while no request to the endpoint is waiting for its answer, or once the click
 * has waited `maxHoldMs`: acks first, work right after.
 *
 * Who does clicks: a web process does them itself, unless a `clicks` process is running. Each
 * `clicks` process (`main.js clicks`: no HTTP server, only this queue) keeps a presence key in
 * Redis alive; a web process looks for it every half second and leaves the work to it while it
 * is there, so its event loop only verifies, records and answers, and takes the work back
 * within about 3.5 s of the last `clicks` process dying (at once when one stops cleanly). The
 * split matters on a small host during a storm: a web process doing its clicks' work waits for
 * a CPU behind that work, and the acks of the next clicks wait with it.
 *
 * A click acked by a process that then dies is not lost: it waits in Redis (done by the next web
 * process to look) or its job lock runs out and BullMQ's stalled check hands it to another.
 * A job is at least once: a click whose change committed just before a crash runs again, and the
 * state machine refuses the repeat (already claimed by you), so no second change or audit row.
 * SIGTERM waits (bounded) for the clicks this process acked.
 */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { hostname } from "node:os";
import type { App } from "@slack/bolt";
import { type Job, Queue, type Telemetry, UnrecoverableError } from "bullmq";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { Logger } from "../logger.js";
import { startWorker, type WorkerHandle } from "../queue/worker.js";
import { withTimeout } from "./request-checks.js";

export const CLICK_QUEUE = "slack-clicks";

/** A `clicks` process renews its presence this often, for PRESENCE_TTL_MS each time. */
const PRESENCE_EVERY_MS = 1000;
const PRESENCE_TTL_MS = 3000;
/** How often a web process looks for a `clicks` process. */
const LOOK_EVERY_MS = 500;
/** Deletes the presence key only if it is still this process's (another may have renewed it). */
const RELEASE_PRESENCE = `if redis.call("get", KEYS[1]) == ARGV[1] then
  return redis.call("del", KEYS[1])
end
return 0`;

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
  /** The presence of a `clicks` process: renewed, its time to live, looked for (tests). */
  presence?: { everyMs?: number; ttlMs?: number; lookEveryMs?: number };
}

/**
 * `shared`: a web process, doing clicks while no `clicks` process is running.
 * `dedicated`: a `clicks` process, always doing them and saying so in Redis.
 */
export type ClickWork = "shared" | "dedicated";

export interface ClickEdge {
  /** Counts a request to the endpoint from its arrival until it is answered (or dropped). */
  arrived(res: ServerResponse): void;
  /** Records a verified click; resolves once Redis holds it. Answer 200 only then. */
  record(click: Record<string, unknown>, signatureHash: string): Promise<void>;
  /**
   * Starts doing recorded clicks: this process's, and those of any web process that died;
   * `shared` (a web process) only while no `clicks` process is running.
   */
  start(app: Pick<App, "processEvent">, work?: ClickWork): Promise<void>;
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
  let work: ClickWork | null = null;
  let presenceTimer: NodeJS.Timeout | null = null;

  // ---- who does clicks: a key that `clicks` processes keep alive ---------------------------
  const presence = {
    key: [options.prefix, "syncdesk-clicks", "present"].join(":"),
    me: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    everyMs: options.presence?.everyMs ?? PRESENCE_EVERY_MS,
    lookEveryMs: options.presence?.lookEveryMs ?? LOOK_EVERY_MS,
    renew: () =>
      options.connection.set(
        presence.key,
        presence.me,
        "PX",
        options.presence?.ttlMs ?? PRESENCE_TTL_MS,
      ),
    seen: async () => (await options.connection.exists(presence.key)) === 1,
    release: () => options.connection.eval(RELEASE_PRESENCE, 1, presence.key, presence.me),
  };

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

    async start(app, asked = "shared") {
      if (work) return;
      work = asked;
      const doClicks = () => {
        if (!worker)
          worker = startWorker(CLICK_QUEUE, (job) => doClick(app, job), {
            connection: options.connection,
            prefix: options.prefix,
            logger,
            concurrency: options.concurrency ?? 16,
            ...telemetry,
            ...(options.lockMs ? { lockMs: options.lockMs } : {}),
          });
      };
      if (asked === "dedicated") {
        // Present before the first job is taken, so web processes stop taking them.
        await presence.renew();
        presenceTimer = setInterval(
          () =>
            presence
              .renew()
              .catch((error: unknown) =>
                logger.warn({ err: error }, "could not renew this clicks process's presence"),
              ),
          presence.everyMs,
        );
        doClicks();
        return;
      }
      let othersDo: boolean | null = null;
      const look = async () => {
        // Redis not answering: carry on as before (the worker waits for Redis anyway).
        const present = await presence.seen().catch(() => othersDo ?? false);
        if (work !== "shared" || present === othersDo) return;
        othersDo = present;
        if (present) {
          // Closed, not paused: a paused worker that was waiting for a job still takes the
          // next one. Its clicks in hand are finished first.
          const standing = worker;
          worker = null;
          await standing?.close();
          logger.info("a clicks process is running: this web process leaves click work to it");
        } else {
          doClicks();
          logger.info("no clicks process is running: this web process does its clicks");
        }
      };
      await look();
      let looking = false;
      presenceTimer = setInterval(() => {
        if (looking) return;
        looking = true;
        void look().finally(() => {
          looking = false;
        });
      }, presence.lookEveryMs);
    },

    async stop() {
      if (presenceTimer) clearInterval(presenceTimer);
      presenceTimer = null;
      // A web process standing by takes the work over at its next look.
      if (work === "dedicated")
        await presence
          .release()
          .catch((error: unknown) =>
            logger.warn({ err: error }, "could not withdraw this clicks process's presence"),
          );
      work = null;
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
