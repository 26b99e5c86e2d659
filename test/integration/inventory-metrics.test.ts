/**
 * What the platform team sees: `GET /metrics` in Prometheus text after real traffic, and JSON
 * log lines about an exception carrying its id and the producer's trace id.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/platform/logger.js";
import { eventually, failureEvent } from "../support/harness.js";
import { click } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split("\n")) if (line.trim()) lines.push(JSON.parse(line));
    done();
  },
});

const h = useHarness({ start: { logger: createLogger("info", sink) } });

async function scrape(): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`http://127.0.0.1:${h.bot.port}/metrics`);
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

/** The value of one series, e.g. `syncdesk_events_received_total{queue="failures"}`. */
function value(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe("GET /metrics", () => {
  it("counts events, cards, actions, queues and jobs as they happen", async () => {
    const before = (await scrape()).text;
    const event = failureEvent({ sku: "SKU-METRICS", traceId: "trace-metrics-1" });
    await h.report(event);
    const row = await eventually(async () =>
      (await h.exceptionsFor("SKU-METRICS"))[0]?.cardTs
        ? (await h.exceptionsFor("SKU-METRICS"))[0]
        : null,
    );
    await h.reportRaw(event, "same-event-another-job"); // the same eventId again
    await h.report({ ...event, eventId: `${event.eventId}-b` }); // a repeat of the fingerprint
    await h.reportRaw({ eventId: "broken", sku: 42 }, "broken-job");
    await click(h, "U0ALICE", row!.id, "claim");
    await eventually(async () => (await h.exception(row!.id)).claimedBy === "U0ALICE");
    const unsigned = await fetch(`http://127.0.0.1:${h.bot.port}/slack/events`, {
      method: "POST",
      body: "payload=%7B%7D",
    });
    expect(unsigned.status).toBe(401);

    // The claim's counter moves just after its commit, so the row can read claimed a moment
    // before the scrape counts it: wait for both.
    const claims = 'syncdesk_actions_total{kind="claim",actor="human"}';
    const after = await eventually(async () => {
      const scraped = await scrape();
      const received = value(scraped.text, 'syncdesk_events_received_total{queue="failures"}');
      const taken = received - value(before, 'syncdesk_events_received_total{queue="failures"}');
      return taken >= 4 && value(scraped.text, claims) > value(before, claims) ? scraped : null;
    });
    expect(after.status).toBe(200);
    expect(after.type).toContain("text/plain");
    const delta = (series: string) => value(after.text, series) - value(before, series);
    expect(delta('syncdesk_events_received_total{queue="failures"}')).toBe(4);
    expect(delta('syncdesk_events_rejected_total{queue="failures"}')).toBe(1);
    expect(delta('syncdesk_events_deduplicated_total{by="event_id"}')).toBe(1);
    expect(delta('syncdesk_events_deduplicated_total{by="fingerprint"}')).toBe(1);
    expect(delta("syncdesk_cards_posted_total")).toBeGreaterThanOrEqual(1);
    expect(delta(claims)).toBe(1);
    expect(after.text).toMatch(/syncdesk_queue_depth\{queue="syncdesk",state="waiting"\} \d+/);
    expect(after.text).toMatch(
      /syncdesk_queue_depth\{queue="inventory-sync-failures",state="failed"\} \d+/,
    );
    expect(after.text).toMatch(
      /syncdesk_job_duration_seconds_count\{queue="inventory-sync-failures",job="[^"]+",outcome="completed"\} [1-9]/,
    );
    // The click's ack and the refusal, timed from arrival to answer.
    expect(delta('syncdesk_slack_ack_seconds_count{status="200"}')).toBeGreaterThanOrEqual(1);
    expect(delta('syncdesk_slack_ack_seconds_count{status="401"}')).toBe(1);
    expect(value(after.text, 'syncdesk_slack_ack_seconds_bucket{le="3",status="200"}')).toBe(
      value(after.text, 'syncdesk_slack_ack_seconds_count{status="200"}'),
    );
    expect(after.text).toMatch(/syncdesk_job_wait_seconds_bucket\{le="[^"]+",queue="syncdesk"/);
    expect(after.text).toMatch(
      /syncdesk_slack_calls_total\{method="chat.postMessage",outcome="ok"\} [1-9]/,
    );
    // Exposed for the SLA timers, present before anything breaches.
    expect(after.text).toContain("# TYPE syncdesk_sla_breaches_total counter");
    expect(after.text).toContain("# TYPE syncdesk_sla_nudges_total counter");
  });
});

describe("logs", () => {
  it("carry the exception id and the producer's trace id on a line about an exception", async () => {
    const [row] = await h.exceptionsFor("SKU-METRICS");
    const taken = await eventually(async () =>
      lines.filter((l) => l.msg === "failure event taken in" && l.exceptionId === row!.id),
    );
    expect(taken.length).toBeGreaterThanOrEqual(2);
    for (const line of taken) {
      expect(line).toMatchObject({
        exceptionId: row!.id,
        traceId: "trace-metrics-1",
        service: "syncdesk",
      });
    }
    // An event without a trace id logs its exception id alone.
    await h.report(failureEvent({ sku: "SKU-NO-TRACE" }));
    const untraced = await eventually(async () => {
      const [other] = await h.exceptionsFor("SKU-NO-TRACE");
      return (
        other && lines.find((l) => l.msg === "failure event taken in" && l.exceptionId === other.id)
      );
    });
    expect(untraced).not.toHaveProperty("traceId");
  });
});
