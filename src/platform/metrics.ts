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

/** A counter on the process registry. */
export function counter<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
) {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/** A gauge on the process registry. */
export function gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []) {
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

/** A histogram on the process registry, with its buckets in seconds. */
export function histogram<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[],
) {
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}

export const metrics = {
  /** Failure and outcome events taken off the intake queues, by queue ("failures", "outcomes"). */
  eventsReceived: counter("syncdesk_events_received_total", "Events taken off the intake queues.", [
    "queue",
  ]),
  eventsRejected: counter(
    "syncdesk_events_rejected_total",
    "Events that failed their contract and were stored as rejected.",
    ["queue"],
  ),
  /** by="event_id": the same eventId again; by="fingerprint": a repeat added as an occurrence. */
  eventsDeduplicated: counter(
    "syncdesk_events_deduplicated_total",
    "Events that opened no new exception: a repeated eventId or a live fingerprint.",
    ["by"],
  ),
  /** HTTP intake (POST /v1/events): items by result, and refused requests by error code. */
  httpEvents: counter(
    "syncdesk_http_events_total",
    "Events POSTed to /v1/events, by result (accepted, duplicate, rejected).",
    ["result"],
  ),
  httpRefused: counter(
    "syncdesk_http_requests_refused_total",
    "Requests to /v1/events refused whole, by error code (unknown_token, rate_limited, ...).",
    ["code"],
  ),
  cardsPosted: counter("syncdesk_cards_posted_total", "Exception cards posted to Slack."),
  /** kind: claim, unclaim, reassign, retry, resolve (people); recovered, retry_* (system). */
  actions: counter(
    "syncdesk_actions_total",
    "State changes applied to exceptions, by kind and by who (human or system).",
    ["kind", "actor"],
  ),
  /** outcome: queued, succeeded, failed. */
  retries: counter("syncdesk_retries_total", "Retries queued from Slack and their results.", [
    "outcome",
  ]),
  /** For the SLA timers: a nudge in the channel or a reminder to the holder. */
  slaNudges: counter("syncdesk_sla_nudges_total", "SLA nudges and reminders sent.", [
    "role",
    "kind",
  ]),
  /** For the SLA timers: an exception passed its resolve deadline. */
  slaBreaches: counter("syncdesk_sla_breaches_total", "Exceptions that breached their SLA.", [
    "role",
  ]),
  /** From a request's arrival on /slack/events to its answer (a click's ack), by HTTP status. */
  slackAcks: histogram(
    "syncdesk_slack_ack_seconds",
    "Time from a Slack request's arrival to the last byte of its answer, by HTTP status.",
    ["status"],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
  ),
  jobDuration: histogram(
    "syncdesk_job_duration_seconds",
    "How long a job ran, by queue, job name and outcome.",
    ["queue", "job", "outcome"],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  ),
  jobWait: histogram(
    "syncdesk_job_wait_seconds",
    "How long a job waited between becoming due and starting.",
    ["queue", "job"],
    [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  ),
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
  registers: [registry],
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
