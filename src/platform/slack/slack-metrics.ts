/**
 * What the outbound Slack path counts: calls by method and outcome, and time spent waiting
 * (pacing, Retry-After, backoff). `SlackMetrics` is the hook; `createSlackStats()` keeps the
 * counts in memory (tests, benchmarks, logs) and `promSlackMetrics()` feeds prom-client.
 */
import type { Registry } from "prom-client";
import { Counter } from "prom-client";

export type CallOutcome = "ok" | "rate_limited" | "server_error" | "network_error";
export type WaitReason = "pace" | "retry_after" | "backoff";

export interface SlackMetrics {
  /** One HTTP request to the Web API and how it ended (`ok` = Slack answered 2xx/4xx). */
  called(method: string, outcome: CallOutcome): void;
  /** Time a call waited before being sent. */
  waited(method: string, reason: WaitReason, ms: number): void;
}

export interface SlackStats extends SlackMetrics {
  calls(method?: string, outcome?: CallOutcome): number;
  waits(method?: string, reason?: WaitReason): { count: number; ms: number };
}

export function createSlackStats(): SlackStats {
  const calls = new Map<string, number>();
  const waits = new Map<string, { count: number; ms: number }>();
  const sum = <T>(map: Map<string, T>, match: (key: string) => boolean, add: (v: T) => void) => {
    for (const [key, value] of map) if (match(key)) add(value);
  };
  const matcher = (a?: string, b?: string) => (key: string) => {
    const [method, kind] = key.split("|");
    return (a === undefined || a === method) && (b === undefined || b === kind);
  };
  return {
    called(method, outcome) {
      const key = `${method}|${outcome}`;
      calls.set(key, (calls.get(key) ?? 0) + 1);
    },
    waited(method, reason, ms) {
      const key = `${method}|${reason}`;
      const entry = waits.get(key) ?? { count: 0, ms: 0 };
      entry.count += 1;
      entry.ms += ms;
      waits.set(key, entry);
    },
    calls(method, outcome) {
      let total = 0;
      sum(calls, matcher(method, outcome), (n) => {
        total += n;
      });
      return total;
    },
    waits(method, reason) {
      const total = { count: 0, ms: 0 };
      sum(waits, matcher(method, reason), (w) => {
        total.count += w.count;
        total.ms += w.ms;
      });
      return total;
    },
  };
}

/** Sends every count to each of the given sinks. */
export function fanOut(...sinks: SlackMetrics[]): SlackMetrics {
  return {
    called: (method, outcome) => {
      for (const sink of sinks) sink.called(method, outcome);
    },
    waited: (method, reason, ms) => {
      for (const sink of sinks) sink.waited(method, reason, ms);
    },
  };
}

/**
 * prom-client counters `syncdesk_slack_calls_total{method,outcome}` and
 * `syncdesk_slack_wait_seconds_total{method,reason}` (+ `_waits_total`) on `registry`.
 * Reuses counters already registered there, so several bots in one process can share it.
 */
export function promSlackMetrics(registry: Registry): SlackMetrics {
  const counter = (name: string, help: string, labelNames: string[]) =>
    (registry.getSingleMetric(name) as Counter<string> | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] });
  const calls = counter("syncdesk_slack_calls_total", "Slack Web API requests by outcome", [
    "method",
    "outcome",
  ]);
  const waits = counter("syncdesk_slack_waits_total", "Slack calls that waited before sending", [
    "method",
    "reason",
  ]);
  const waited = counter(
    "syncdesk_slack_wait_seconds_total",
    "Seconds Slack calls waited (pacing, Retry-After, backoff)",
    ["method", "reason"],
  );
  return {
    called: (method, outcome) => calls.inc({ method, outcome }),
    waited: (method, reason, ms) => {
      waits.inc({ method, reason });
      waited.inc({ method, reason }, ms / 1000);
    },
  };
}
