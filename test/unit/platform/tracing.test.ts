/**
 * Tracing is off unless the OTEL_* settings ask for it, and then registers one provider that
 * records spans; a producer's trace context is read as W3C says (a bad one is ignored).
 */
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { EnvError, loadEnv } from "../../../src/env.js";
import {
  activeTraceparent,
  inSpan,
  producerTraceparent,
  startTracing,
  tracingActive,
  tracingSettings,
} from "../../../src/platform/tracing.js";

const secrets = {
  SLACK_BOT_TOKEN: "xoxb-1234-secret-bot-token",
  SLACK_SIGNING_SECRET: "signing-secret-that-must-stay-secret",
};
const env = (extra: Record<string, string> = {}) => loadEnv({ ...secrets, ...extra });

describe("tracingSettings", () => {
  it("is off with no OTEL settings at all", () => {
    expect(tracingSettings(env())).toBeNull();
  });

  it("is on with an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp, named after OTEL_SERVICE_NAME", () => {
    expect(tracingSettings(env({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }))).toEqual({
      serviceName: "syncdesk",
    });
    expect(
      tracingSettings(
        env({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" }),
      ),
    ).not.toBeNull();
    expect(
      tracingSettings(env({ OTEL_TRACES_EXPORTER: "OTLP", OTEL_SERVICE_NAME: "desk-eu" })),
    ).toEqual({ serviceName: "desk-eu" });
  });

  it("stays off when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, endpoint or not", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(tracingSettings(env({ ...endpoint, OTEL_SDK_DISABLED: "TRUE" }))).toBeNull();
    expect(tracingSettings(env({ ...endpoint, OTEL_TRACES_EXPORTER: "none" }))).toBeNull();
    expect(tracingSettings(env({ ...endpoint, OTEL_SDK_DISABLED: "false" }))).not.toBeNull();
  });

  it("refuses settings it cannot honour, naming them", () => {
    const problems = (extra: Record<string, string>) => {
      try {
        env(extra);
      } catch (error) {
        if (error instanceof EnvError) return error.problems;
        throw error;
      }
      return [];
    };
    expect(problems({ OTEL_TRACES_EXPORTER: "zipkin" })).toEqual([
      "OTEL_TRACES_EXPORTER must be otlp or none (the exporters syncdesk ships)",
    ]);
    expect(problems({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toEqual([
      "OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf",
    ]);
    expect(problems({ OTEL_SDK_DISABLED: "yes" })).toEqual([
      "OTEL_SDK_DISABLED must be true or false",
    ]);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector" })[0]).toMatch(
      /^OTEL_EXPORTER_OTLP_ENDPOINT /,
    );
  });
});

describe("producerTraceparent", () => {
  const header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  it("takes a valid W3C traceparent as it is", () => {
    expect(producerTraceparent({ traceparent: header, traceId: "other" }, "evt-1")).toBe(header);
  });

  it("makes a 32-hex traceId a trace under a parent span id that depends on the event only", () => {
    const traceId = "0AF7651916CD43DD8448EB211C80319C";
    const first = producerTraceparent({ traceId }, "evt-1");
    expect(first).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(producerTraceparent({ traceId }, "evt-1")).toBe(first);
    expect(producerTraceparent({ traceId }, "evt-2")).not.toBe(first);
  });

  it("ignores what is not a trace: malformed headers, other trace ids, all zeros, non-objects", () => {
    expect(producerTraceparent({ traceparent: "00-abc-def-01" }, "e")).toBeNull();
    expect(
      producerTraceparent(
        { traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01" },
        "e",
      ),
    ).toBeNull();
    expect(producerTraceparent({ traceId: "order-4711" }, "e")).toBeNull();
    expect(producerTraceparent({ traceId: "0".repeat(32) }, "e")).toBeNull();
    expect(producerTraceparent("00-…", "e")).toBeNull();
    expect(producerTraceparent(null, "e")).toBeNull();
  });
});

describe("startTracing", () => {
  it("with no OTEL settings registers no provider: spans record nothing and carry no trace", async () => {
    expect(startTracing(env())).toBeNull();
    expect(tracingActive()).toBe(false);
    const span = trace.getTracer("probe").startSpan("probe");
    expect(span.isRecording()).toBe(false);
    span.end();
    await inSpan("work", {}, async () => expect(activeTraceparent()).toBeNull());
  });

  it("on, records spans that continue a stored trace, and unregisters at shutdown", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing(env({ OTEL_TRACES_EXPORTER: "otlp" }), { exporter });
    expect(tracing?.telemetry).toBeDefined();
    const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let inside: string | null = null;
    await inSpan("outer", { root: true }, () =>
      inSpan("continued", { parent }, async () => {
        inside = activeTraceparent();
      }),
    );
    await expect(
      inSpan("fails", { root: true }, async () => {
        throw new Error("Postgres went away");
      }),
    ).rejects.toThrow("Postgres went away");
    const [continued, outer, failed] = exporter.getFinishedSpans();
    expect(continued?.name).toBe("continued");
    expect(continued?.spanContext().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(continued?.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
    expect(continued?.links[0]?.context.spanId).toBe(outer?.spanContext().spanId);
    expect(inside).toBe(
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${continued?.spanContext().spanId}-01`,
    );
    expect(failed?.status).toMatchObject({ code: 2, message: "Postgres went away" });
    expect(failed?.events[0]?.name).toBe("exception");

    await tracing?.shutdown();
    expect(tracingActive()).toBe(false);
    expect(trace.getTracer("probe").startSpan("after").isRecording()).toBe(false);
  });
});
