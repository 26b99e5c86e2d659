/**
 * Relays the Slack outbox. A lane (one card, one DM conversation) is worked by one process at
 * a time, holding a Redis lease, oldest row first; a row that cannot go yet blocks the rows
 * behind it, so a card and its thread go out in order. Relays wake on `pg_notify` at the
 * commit that added a row, on a poll (another replica's timer, a lost notify), and on their
 * own timers for rows held back. Slack being down for an hour only means rows wait: every
 * transient failure is retried with capped backoff, for as long as it takes.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type postgres from "postgres";
import type { Db } from "../db/db.js";
import type { SlackOutboxKind } from "../db/schema.js";
import type { Logger } from "../logger.js";
import { inSpan, SpanKind } from "../tracing.js";
import {
  beginAttempt,
  holdUntil,
  laneHead,
  markFailed,
  markSent,
  OUTAGE_ERRORS,
  OUTBOX_NOTIFY,
  type OutboxRow,
  pruneOutbox,
  readyLanes,
  releaseAfterOutage,
  retryLater,
} from "./outbox.repo.js";
import { backoffDelay } from "./rate-limits.js";
import { classifySlackError } from "./slack-errors.js";

export type Delivery =
  /** `delivered` is kept on the row (e.g. "post", "update") for later decisions. */
  { ok: true; channel?: string; ts?: string; delivered?: string } | { ok: false; reason: string };

export interface OutboxHandler {
  /** Milliseconds the row must still wait (card update coalescing); 0 = now. */
  holdFor?(row: OutboxRow): Promise<number>;
  /** Sends the row. `resumed`: an earlier attempt may have reached Slack, reconcile first. */
  deliver(row: OutboxRow, resumed: boolean): Promise<Delivery>;
}

export interface OutboxRelaySettings {
  /** Safety-net poll for due rows (ms). */
  pollMs: number;
  /** Lane lease; renewed while working, so only a dead process loses it. */
  leaseMs: number;
  /** Lanes worked at once by this process. */
  concurrency: number;
  /** Backoff between attempts of one row (Slack down): base and cap. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Attempts before a row Slack keeps refusing with an unrecognised error is given up. */
  maxUnrecognisedAttempts: number;
  /** Delivered rows are kept this many days. */
  retentionDays: number;
}

export const DEFAULT_RELAY_SETTINGS: OutboxRelaySettings = {
  pollMs: 1000,
  leaseMs: 30_000,
  concurrency: 16,
  backoffMs: 1000,
  maxBackoffMs: 60_000,
  maxUnrecognisedAttempts: 10,
  retentionDays: 7,
};

export interface OutboxRelayOptions {
  db: Db;
  sql: postgres.Sql;
  redis: Redis;
  prefix: string;
  logger: Logger;
  handlers: Record<SlackOutboxKind, OutboxHandler>;
  settings?: Partial<OutboxRelaySettings>;
}

export interface OutboxRelay {
  /** Looks for due lanes now. */
  wake(): void;
  close(timeoutMs?: number): Promise<void>;
}

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const settings = { ...DEFAULT_RELAY_SETTINGS, ...options.settings };
  const { db, redis, handlers } = options;
  const logger = options.logger.child({ component: "slack-outbox" });
  const leaseKey = (lane: string) => `${options.prefix}:slack:lane:${lane}`;
  const running = new Map<string, Promise<void>>();
  /** Pace keys (channels) of the lanes running here: one lane per channel at a time. */
  const pacing = new Map<string, string>();
  /** Lanes another replica holds: not asked for again until the time given. */
  const elsewhere = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let scanning = false;
  let again = false;
  let closed = false;
  /** This process saw Slack unavailable; the next success releases every row backing off. */
  let outage = false;

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const scan = async (): Promise<void> => {
    if (closed) return;
    if (scanning) {
      again = true;
      return;
    }
    scanning = true;
    try {
      do {
        again = false;
        const free = settings.concurrency - running.size;
        if (free <= 0) break;
        const now = Date.now();
        for (const [lane, until] of elsewhere) if (until <= now) elsewhere.delete(lane);
        const lanes = await readyLanes(
          db,
          free,
          [...running.keys(), ...elsewhere.keys()],
          [...new Set(pacing.values())],
        );
        for (const { lane, paceKey } of lanes) start(lane, paceKey);
        // A full page may mean more lanes are due: look again when a slot frees up.
        if (lanes.length === free) again = true;
      } while (again && !closed && running.size < settings.concurrency);
    } catch (error) {
      logger.warn({ err: error }, "outbox scan failed; the poll will try again");
    } finally {
      scanning = false;
    }
  };
  const wake = () => void scan();

  const start = (lane: string, paceKey: string | null = null) => {
    if (running.has(lane) || closed) return;
    if (paceKey) pacing.set(lane, paceKey);
    const work = runLane(lane)
      .catch((error: unknown) => logger.error({ lane, err: error }, "outbox lane failed"))
      .finally(() => {
        running.delete(lane);
        pacing.delete(lane);
        wake();
      });
    running.set(lane, work);
  };

  const runLane = async (lane: string): Promise<void> => {
    const token = randomUUID();
    const key = leaseKey(lane);
    if ((await redis.set(key, token, "PX", settings.leaseMs, "NX")) !== "OK") {
      elsewhere.set(lane, Date.now() + Math.min(settings.leaseMs, settings.pollMs * 2));
      return;
    }
    let lost = false;
    const renew = setInterval(
      () => {
        redis
          .eval(RENEW, 1, key, token, String(settings.leaseMs))
          .then((renewed) => {
            if (Number(renewed) !== 1) lost = true;
          })
          .catch(() => undefined);
      },
      Math.max(100, Math.floor(settings.leaseMs / 3)),
    );
    try {
      while (!closed && !lost) {
        const head = await laneHead(db, lane);
        if (!head) return;
        if (head.dueInMs > 0) {
          later(head.dueInMs, wake);
          return;
        }
        if (!(await step(lane, head.row))) return;
      }
    } finally {
      clearInterval(renew);
      await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    }
  };

  /** Works one row; false when the lane must wait (row held back or retried later). */
  const step = async (lane: string, row: OutboxRow): Promise<boolean> => {
    const handler = handlers[row.kind];
    const hold = (await handler.holdFor?.(row)) ?? 0;
    if (hold > 0) {
      await holdUntil(db, row.id, hold);
      later(hold, wake);
      return false;
    }
    const resumed = row.state === "sending";
    const started = await beginAttempt(db, row.id);
    if (!started) return true;
    const log = logger.child({ lane, outboxId: row.id, kind: row.kind });
    try {
      // A span of the trace of the change that queued the row (a card post continues intake).
      const result = await inSpan(
        `slack.outbox ${row.kind}`,
        {
          kind: SpanKind.CLIENT,
          parent: started.traceContext,
          root: true,
          attributes: {
            "syncdesk.outbox.id": row.id,
            "syncdesk.outbox.attempt": started.attempts,
            ...(row.exceptionId ? { "syncdesk.exception.id": row.exceptionId } : {}),
          },
        },
        async (span) => {
          const delivery = await handler.deliver(started, resumed);
          if (delivery.ok && delivery.delivered)
            span.setAttribute("syncdesk.slack.delivered", delivery.delivered);
          if (!delivery.ok) span.setAttribute("syncdesk.slack.refused", delivery.reason);
          return delivery;
        },
      );
      if (result.ok) {
        await markSent(db, row.id, result);
        if (outage) {
          outage = false;
          const released = await releaseAfterOutage(db);
          if (released > 0) log.info({ released }, "Slack answers again; sending what waited");
          wake();
        }
      } else {
        log.error({ reason: result.reason }, "Slack refused an outbox message for good");
        await markFailed(db, row.id, result.reason);
      }
      return true;
    } catch (error) {
      const failure = classifySlackError(error);
      if (UNAVAILABLE.test(failure.code)) outage = true;
      const giveUp =
        failure.kind === "permanent" ||
        (failure.kind === "retry" &&
          !KNOWN_TRANSIENT.test(failure.code) &&
          started.attempts >= settings.maxUnrecognisedAttempts);
      if (giveUp) {
        log.error({ code: failure.code, err: error }, "Slack refused an outbox message for good");
        await markFailed(db, row.id, failure.code);
        return true;
      }
      const backoff = backoffDelay(started.attempts, settings);
      const delayMs = Math.max(
        failure.kind === "config" ? settings.maxBackoffMs : backoff,
        failure.kind === "retry" ? (failure.retryAfterMs ?? 0) : 0,
      );
      (failure.kind === "config" ? log.error.bind(log) : log.warn.bind(log))(
        { code: failure.code, attempt: started.attempts, delayMs, err: error },
        "Slack write failed; will try again",
      );
      await retryLater(db, started, {
        delayMs,
        error: failure.code,
        outcomeKnown: failure.kind !== "unknown",
      });
      later(delayMs, wake);
      return false;
    }
  };

  // New rows for a channel one of our lanes is writing to wait for that lane: its end wakes
  // the scan, which would find nothing of that channel before then (one lane a channel).
  const listener = await options.sql.listen(OUTBOX_NOTIFY, (paceKey) => {
    if (paceKey !== "" && [...pacing.values()].includes(paceKey)) return;
    wake();
  });
  const poll = setInterval(wake, settings.pollMs);
  const prune = setInterval(() => {
    pruneOutbox(db, settings.retentionDays).catch((error: unknown) =>
      logger.warn({ err: error }, "could not prune the outbox"),
    );
  }, 10 * 60_000);
  prune.unref();
  wake();

  return {
    wake,
    close: async (timeoutMs = 5000) => {
      closed = true;
      clearInterval(poll);
      clearInterval(prune);
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await listener.unlisten().catch(() => undefined);
      // Lanes stop after their current row; one stuck on a long Slack wait is left behind
      // (its row stays `sending` and is reconciled by whoever takes the lane next).
      const drained = Promise.allSettled([...running.values()]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        drained,
        new Promise((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}

/** Slack (or the way to it) is down: backoffs end as soon as one call gets through. */
const UNAVAILABLE = new RegExp(`^(${OUTAGE_ERRORS.join("|")})$`);

/** Error codes that are Slack being unavailable or busy, retried without limit. */
const KNOWN_TRANSIENT =
  /^(http_\d+|ratelimited|internal_error|fatal_error|service_unavailable|request_timeout|team_added_to_org|unknown_error)$/;
