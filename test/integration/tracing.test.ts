/**
 * OpenTelemetry traces (OTEL_TRACES_EXPORTER=otlp; spans go to an in-memory exporter instead of
 * OTLP): a producer's W3C traceparent is continued from the failure event through intake, the
 * card post, a Retry click, the retry job on the producer's queue, the producer's outcome and
 * the exception's resolution. The producer here runs BullMQ with OpenTelemetry too
 * (bullmq-otel), as an instrumented pipeline would: its worker continues the retry job's trace
 * from the job options and its outcome job carries it back.
 */

import { context, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { Queue, Worker } from "bullmq";
import { BullMQOtel } from "bullmq-otel";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportSyncSuccess } from "../../src/outcomes/outcome-event.schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import { click, DESK, posted, threadOf, USERS } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const RETRY_QUEUE = "storefront-sync";
const PRODUCER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PRODUCER_SPAN = "00f067aa0ba902b7";

const exporter = new InMemorySpanExporter();
const h = useHarness({
  ...DESK,
  env: { OTEL_TRACES_EXPORTER: "otlp", OTEL_SERVICE_NAME: "syncdesk-test" },
  start: { ...DESK.start, spanExporter: exporter },
});

let producerWorker: Worker;
/** What the producer's worker found in each retry job's `syncdesk` field. */
const retryFields: { traceparent?: string }[] = [];
let outcomes: Queue;
beforeAll(() => {
  const telemetry = new BullMQOtel({ tracerName: "stock-publisher" });
  const connection = { url: h.env.REDIS_URL, maxRetriesPerRequest: null };
  outcomes = new Queue(h.env.OUTCOME_QUEUE, { connection, prefix: h.env.QUEUE_PREFIX, telemetry });
  // The producer's pipeline: does the retry and reports the delivery that now succeeded.
  producerWorker = new Worker(
    RETRY_QUEUE,
    async (job) => {
      retryFields.push(job.data.syncdesk);
      await reportSyncSuccess(outcomes, {
        kind: "sync.succeeded",
        client: "globex",
        sku: job.data.sku,
        targetSystem: "storefront.shopify",
        occurredAt: new Date().toISOString(),
      });
      return { synced: true };
    },
    { connection, prefix: h.env.QUEUE_PREFIX, telemetry },
  );
});
afterAll(async () => {
  await producerWorker.close();
  await outcomes.close();
});

const spans = () => exporter.getFinishedSpans();
const named = (name: string, trace = PRODUCER_TRACE) =>
  spans().filter((span) => span.name === name && span.spanContext().traceId === trace);
const one = (name: string, trace = PRODUCER_TRACE) =>
  eventually(async () => named(name, trace)[0], 10_000, `a span "${name}"`);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const byId = (spanId: string | undefined) =>
  spans().find((span) => span.spanContext().spanId === spanId);

describe("a producer's trace through the desk", () => {
  it("is continued by intake, the card post, a Retry click, the retry job and its outcome", async () => {
    const sku = "SKU-TRACED-1";
    await h.report(
      failureEvent({
        sku,
        traceparent: `00-${PRODUCER_TRACE}-${PRODUCER_SPAN}-01`,
        retry: { queue: RETRY_QUEUE, name: "sync.sku", data: { sku } },
      }),
    );
    const [row] = await posted(h, sku);
    const id = row!.id;

    // Intake is a child of the producer's span, linked to BullMQ's own span of the job.
    const intake = await one("intake sync.failed");
    expect(parentOf(intake)).toBe(PRODUCER_SPAN);
    expect(intake.attributes["syncdesk.intake.result"]).toBe("opened");
    expect(intake.attributes["syncdesk.exception.id"]).toBe(id);
    const jobSpan = byId(intake.links[0]?.context.spanId);
    expect(jobSpan?.name).toBe(`process ${h.env.FAILURE_QUEUE}`);

    // The card post continues intake.
    const post = await eventually(
      async () =>
        named("slack.outbox card").find(
          (span) => span.attributes["syncdesk.slack.delivered"] === "post",
        ),
      10_000,
      "the card post's span",
    );
    expect(parentOf(post)).toBe(intake.spanContext().spanId);
    expect(post.attributes["syncdesk.exception.id"]).toBe(id);

    // The click, recorded on slack-clicks and done by a worker (BullMQ spans of their own
    // trace), continues the exception's trace and links to the click's job.
    const replies = (await threadOf(h, id)).length;
    await click(h, USERS.alice, id, "retry");
    await eventually(async () => (await threadOf(h, id)).length > replies);
    const retry = await one("exception retry");
    expect(parentOf(retry)).toBe(intake.spanContext().spanId);
    expect(retry.attributes).toMatchObject({
      "syncdesk.exception.id": id,
      "syncdesk.actor": USERS.alice,
      "syncdesk.exception.outcome": "changed",
    });
    const clickJob = byId(retry.links[0]?.context.spanId);
    expect(clickJob?.name).toBe("process slack-clicks");
    expect(clickJob?.spanContext().traceId).not.toBe(PRODUCER_TRACE);

    // BullMQ's hooks carry the trace: syncdesk's add of the retry job, the producer's process
    // of it, the producer's add of its outcome and syncdesk's process of that.
    const added = await one(`add ${RETRY_QUEUE}.sync.sku`);
    expect(parentOf(added)).toBe(retry.spanContext().spanId);
    const processed = await one(`process ${RETRY_QUEUE}`);
    expect(parentOf(processed)).toBe(added.spanContext().spanId);
    // A producer without BullMQ telemetry finds the trace in the job's syncdesk field.
    expect(retryFields).toEqual([
      expect.objectContaining({
        traceparent: `00-${PRODUCER_TRACE}-${retry.spanContext().spanId}-01`,
      }),
    ]);
    const outcomeAdded = await one(`add ${h.env.OUTCOME_QUEUE}.sync.succeeded`);
    expect(parentOf(outcomeAdded)).toBe(processed.spanContext().spanId);
    const outcomeProcessed = await one(`process ${h.env.OUTCOME_QUEUE}`);
    expect(parentOf(outcomeProcessed)).toBe(outcomeAdded.spanContext().spanId);

    // The result resolves the exception in the same trace (the retry tracker or the outcome,
    // whichever comes first; the other finds nothing left to change).
    await eventually(async () => (await h.exception(id)).state === "resolved");
    const resolved = await eventually(
      async () =>
        [...named("exception retry_succeeded"), ...named("exception recovered")].find(
          (span) => span.attributes["syncdesk.exception.outcome"] === "changed",
        ),
      10_000,
      "the resolution's span",
    );
    expect(parentOf(resolved)).toBe(intake.spanContext().spanId);
    // The card update the click queued continues the click.
    await eventually(async () =>
      named("slack.outbox card").some((span) => parentOf(span) === retry.spanContext().spanId),
    );
  });

  it("hands a producer's active span on through reportSyncFailure when the event names no trace", async () => {
    const sku = "SKU-TRACED-4";
    const publish = trace.getTracer("stock-publisher").startSpan("publish stock");
    await context.with(trace.setSpan(context.active(), publish), () =>
      h.report(failureEvent({ sku })),
    );
    publish.end();
    const [row] = await posted(h, sku);
    const intake = await eventually(async () =>
      named("intake sync.failed", publish.spanContext().traceId).find(
        (span) => span.attributes["syncdesk.exception.id"] === row?.id,
      ),
    );
    expect(parentOf(intake)).toBe(publish.spanContext().spanId);
  });

  it("makes each run of a sweeper a trace of its own, not one trace growing for ever", async () => {
    // RETRY_POLL_MS is 200 here: retries.reconcile runs five times a second.
    const runs = await eventually(
      async () => {
        const found = spans().filter(
          (span) =>
            span.name === "process syncdesk" &&
            span.attributes["bullmq.job.name"] === "retries.reconcile",
        );
        return found.length >= 4 ? found : null;
      },
      10_000,
      "four runs of retries.reconcile",
    );
    const traces = new Set(runs.map((span) => span.spanContext().traceId));
    expect(traces.size).toBe(runs.length);
  });

  it("names the service after OTEL_SERVICE_NAME", async () => {
    const intake = await one("intake sync.failed");
    expect(intake.resource.attributes["service.name"]).toBe("syncdesk-test");
  });

  it("continues a bare 32-hex traceId, and ignores a malformed traceparent without refusing the event", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    await h.report(failureEvent({ sku: "SKU-TRACED-2", traceId }));
    const bare = await one("intake sync.failed", traceId);
    expect(bare.parentSpanContext?.isRemote).toBe(true);

    const before = spans().length;
    await h.report(failureEvent({ sku: "SKU-TRACED-3", traceparent: "00-not-a-trace-01" }));
    const [row] = await posted(h, "SKU-TRACED-3");
    expect(row?.state).toBe("open");
    const intake = await eventually(async () =>
      spans()
        .slice(before)
        .find(
          (span) =>
            span.name === "intake sync.failed" &&
            span.attributes["syncdesk.exception.id"] === row?.id,
        ),
    );
    // A child of BullMQ's span of the job, in that trace.
    expect(byId(parentOf(intake))?.name).toBe(`process ${h.env.FAILURE_QUEUE}`);
  });
});
