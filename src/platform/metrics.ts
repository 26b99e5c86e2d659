/**
 * The one Prometheus registry of the process, served at `GET /metrics`. Features increment the
 * counters below where things happen; queue depths are read from Redis when scraped.
 *
 * Counters are process-wide (prom-client's model): several bots started in one process (tests)
 * add up, and each replica is its own scrape target. Slack calls and rate-limit waits are
 * counted by the outbound path (src/platform/slack/slack-metrics.ts, `promSlackMetrics(registry)`)
 * on this same registry.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Queue } from "bullmq";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "syncdesk_process_" });

const registers = [registry];

export const metrics = {
  /** Failure and outcome events taken off the intake queues, by queue ("failures", "outcomes"). */
  eventsReceived: new Counter({
    name: "syncdesk_events_received_total",
    help: "Events taken off the intake queues.",
    labelNames: ["queue"] as const,
    registers,
  }),
  eventsRejected: new Counter({
    name: "syncdesk_events_rejected_total",
    help: "Events that failed their contract and were stored as rejected.",
    labelNames: ["queue"] as const,
    registers,
  }),
  /** by="event_id": the same eventId again; by="fingerprint": a repeat added as an occurrence. */
  eventsDeduplicated: new Counter({
    name: "syncdesk_events_deduplicated_total",
    help: "Events that opened no new exception: a repeated eventId or a live fingerprint.",
    labelNames: ["by"] as const,
    registers,
  }),
  cardsPosted: new Counter({
    name: "syncdesk_cards_posted_total",
    help: "Exception cards posted to Slack.",
    registers,
  }),
  /** kind: claim, unclaim, reassign, retry, resolve (people); recovered, retry_* (system). */
  actions: new Counter({
    name: "syncdesk_actions_total",
    help: "State changes applied to exceptions, by kind and by who (human or system).",
    labelNames: ["kind", "actor"] as const,
    registers,
  }),
  /** outcome: queued, succeeded, failed. */
  retries: new Counter({
    name: "syncdesk_retries_total",
    help: "Retries queued from Slack and their results.",
    labelNames: ["outcome"] as const,
    registers,
  }),
  /** For the SLA timers: a nudge in the channel or a reminder to the holder. */
  slaNudges: new Counter({
    name: "syncdesk_sla_nudges_total",
    help: "SLA nudges and reminders sent.",
    labelNames: ["role", "kind"] as const,
    registers,
  }),
  /** For the SLA timers: an exception passed its resolve deadline. */
  slaBreaches: new Counter({
    name: "syncdesk_sla_breaches_total",
    help: "Exceptions that breached their SLA.",
    labelNames: ["role"] as const,
    registers,
  }),
  /** From a request's arrival on /slack/events to its answer (a click's ack), by HTTP status. */
  slackAcks: new Histogram({
    name: "syncdesk_slack_ack_seconds",
    help: "Time from a Slack request's arrival to the last byte of its answer, by HTTP status.",
    labelNames: ["status"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
    registers,
  }),
  jobDuration: new Histogram({
    name: "syncdesk_job_duration_seconds",
    help: "How long a job ran, by queue, job name and outcome.",
    labelNames: ["queue", "job", "outcome"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  }),
  jobWait: new Histogram({
    name: "syncdesk_job_wait_seconds",
    help: "How long a job waited between becoming due and starting.",
    labelNames: ["queue", "job"] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  }),
};

/** Counts one intake job by how it ended (the intake services' result kinds). */
export function countIntake(queue: "failures" | "outcomes" | "snapshots", kind: string): void {
  metrics.eventsReceived.inc({ queue });
  if (kind === "rejected") metrics.eventsRejected.inc({ queue });
  else if (kind === "duplicate") metrics.eventsDeduplicated.inc({ by: "event_id" });
  else if (kind === "occurrence") metrics.eventsDeduplicated.inc({ by: "fingerprint" });
}

// ---- queue depth, read when scraped ------------------------------------------------------------

const DEPTH_STATES = ["waiting", "active", "delayed", "failed", "prioritized"] as const;
const watchedQueues = new Set<() => Queue[]>();

new Gauge({
  name: "syncdesk_queue_depth",
  help: "Jobs per queue and state, read from Redis at scrape time.",
  labelNames: ["queue", "state"] as const,
  registers,
  async collect() {
    this.reset();
    const queues = new Map<string, Queue>();
    for (const list of watchedQueues) for (const queue of list()) queues.set(queue.name, queue);
    await Promise.all(
      [...queues.values()].map(async (queue) => {
        // A queue that cannot be read (Redis away) leaves its series out of this scrape.
        const counts = await queue.getJobCounts(...DEPTH_STATES).catch(() => null);
        if (!counts) return;
        for (const state of DEPTH_STATES)
          this.set({ queue: queue.name, state }, counts[state] ?? 0);
      }),
    );
  },
});

/** Reports these queues' depths while the returned function has not been called. */
export function watchQueueDepth(queues: () => Queue[]): () => void {
  watchedQueues.add(queues);
  return () => watchedQueues.delete(queues);
}

/** `GET /metrics` in Prometheus text format. */
export async function serveMetrics(_req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const body = await registry.metrics();
    res.writeHead(200, { "content-type": registry.contentType });
    res.end(body);
  } catch (error) {
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(`metrics unavailable: ${(error as Error).message}`);
  }
}
