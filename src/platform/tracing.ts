/**
 * OpenTelemetry traces, off unless the standard `OTEL_*` settings ask for them (an OTLP
 * endpoint, or `OTEL_TRACES_EXPORTER=otlp`). On, a process registers one tracer provider that
 * exports over OTLP (http/protobuf; the exporter, sampler and batch processor read their own
 * `OTEL_*` variables), and hands BullMQ its telemetry (`bullmq-otel`): every queue and worker
 * then makes its own `add` and `process` spans and carries the trace in each job's options, so
 * a job continues the trace of whoever added it. What BullMQ cannot know is spanned here: a
 * producer's `traceparent` (or bare `traceId`) in a failure event, an exception's stored trace
 * (a click days later continues it), an outbox row's (the card post continues the change that
 * queued it). Off, the API is OpenTelemetry's no-op: no provider, no telemetry, nothing kept.
 */
import {
  type Context,
  context,
  defaultTextMapGetter,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { Telemetry } from "bullmq";
import { BullMQOtel } from "bullmq-otel";

export { SpanKind };

/** The `OTEL_*` settings syncdesk itself reads (validated by src/env.ts). */
export interface OtelSettings {
  OTEL_SDK_DISABLED?: boolean | undefined;
  OTEL_TRACES_EXPORTER?: string | undefined;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_SERVICE_NAME: string;
}

/**
 * Whether this process traces, and as what: null (off) unless an OTLP endpoint is set or
 * OTEL_TRACES_EXPORTER names otlp; OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none win.
 * Unlike the SDK's own default (otlp to localhost), nothing is exported unless asked. Pure.
 */
export function tracingSettings(env: OtelSettings): { serviceName: string } | null {
  if (env.OTEL_SDK_DISABLED) return null;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (exporters.includes("none")) return null;
  const asked =
    exporters.includes("otlp") ||
    Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  return asked ? { serviceName: env.OTEL_SERVICE_NAME } : null;
}

/**
 * Where spans go, from the settings env.ts checked (headers, timeout and the rest the exporter
 * reads from OTEL_* itself): the traces endpoint as given, or the general one + /v1/traces.
 */
function otlpUrl(env: OtelSettings): { url?: string } {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
    return { url: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT };
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT)
    return { url: `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces` };
  return {};
}

export interface Tracing {
  /** BullMQ's telemetry option for every Queue and Worker of the process. */
  telemetry: Telemetry;
  /** Exports what is still buffered and unregisters the provider (the last user's call). */
  shutdown(): Promise<void>;
}

/** How long a stop waits for the last spans to reach the collector. */
const FLUSH_LIMIT_MS = 3000;

let registered: { provider: NodeTracerProvider; telemetry: Telemetry; users: number } | null = null;

/**
 * Registers the process's tracer provider (once: a second start in the same process, as in a
 * test running web and worker side by side, shares it), or returns null when tracing is off.
 * `exporter` replaces OTLP (tests: InMemorySpanExporter) and exports each span as it ends.
 */
export function startTracing(
  env: OtelSettings,
  options: { exporter?: SpanExporter } = {},
): Tracing | null {
  const settings = tracingSettings(env);
  if (!settings) return null;
  if (!registered) {
    const resource = defaultResource()
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }))
      // OTEL_RESOURCE_ATTRIBUTES (and OTEL_SERVICE_NAME) as the specification reads them.
      .merge(detectResources({ detectors: [envDetector] }));
    const provider = new NodeTracerProvider({
      resource,
      spanProcessors: [
        options.exporter
          ? new SimpleSpanProcessor(options.exporter)
          : new BatchSpanProcessor(new OTLPTraceExporter(otlpUrl(env))),
      ],
    });
    // AsyncLocalStorage context, W3C trace context and baggage propagation.
    provider.register();
    registered = {
      provider,
      telemetry: new BullMQOtel({ tracerName: "syncdesk", version: "1" }),
      users: 0,
    };
  }
  const shared = registered;
  shared.users += 1;
  let done = false;
  return {
    telemetry: shared.telemetry,
    shutdown: async () => {
      if (done) return;
      done = true;
      shared.users -= 1;
      if (shared.users > 0) return;
      if (registered === shared) registered = null;
      try {
        // An unreachable collector must not hold up a drain (SIGTERM's limit is 10 s): what
        // is not exported by then is lost, as with any crash of the process.
        let timer: NodeJS.Timeout | undefined;
        const flushed = await Promise.race([
          shared.provider.shutdown().then(() => true),
          new Promise<false>((resolve) => {
            timer = setTimeout(resolve, FLUSH_LIMIT_MS, false);
          }),
        ]);
        clearTimeout(timer);
        if (!flushed) throw new Error(`spans not exported within ${FLUSH_LIMIT_MS} ms; dropped`);
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
      }
    },
  };
}

const tracer = () => trace.getTracer("syncdesk");
const w3c = new W3CTraceContextPropagator();
const TRACE_ID = /^[0-9a-f]{32}$/;

/** The trace context (W3C `traceparent`) of the active span, or null with none (tracing off). */
export function activeTraceparent(): string | null {
  return traceparentOf(trace.getActiveSpan());
}

function traceparentOf(span: Span | undefined): string | null {
  const spanContext = span?.spanContext();
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return null;
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, "0");
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/**
 * The trace a producer's event continues: its W3C `traceparent` when valid, else a `traceId`
 * of 32 hex digits (a W3C trace id) under a parent span id made from `seed` (the event id, so
 * every look at the same event finds the same parent). Anything else starts no trace of its
 * own: as W3C asks, a malformed header is ignored, never a reason to refuse the event.
 */
export function producerTraceparent(fields: unknown, seed: string): string | null {
  if (typeof fields !== "object" || fields === null) return null;
  const { traceparent, traceId } = fields as { traceparent?: unknown; traceId?: unknown };
  if (typeof traceparent === "string" && contextOf(traceparent)) return traceparent.trim();
  if (typeof traceId !== "string") return null;
  const id = traceId.trim().toLowerCase();
  if (!TRACE_ID.test(id) || /^0+$/.test(id)) return null;
  return `00-${id}-${spanIdFrom(seed)}-01`;
}

/** 16 hex digits (never all zero) from a string: FNV-1a, twice, so a span id is stable. */
function spanIdFrom(seed: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < seed.length; i++) {
    const code = seed.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193) >>> 0;
    b = Math.imul(b ^ code, 0x5bd1e995) >>> 0;
  }
  const id = a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
  return /^0+$/.test(id) ? "0000000000000001" : id;
}

/** A remote parent context from a stored `traceparent`, or null when it is not one. */
function contextOf(traceparent: string): Context | null {
  const extracted = w3c.extract(
    ROOT_CONTEXT,
    { traceparent: traceparent.trim() },
    defaultTextMapGetter,
  );
  const spanContext = trace.getSpanContext(extracted);
  return spanContext && trace.isSpanContextValid(spanContext) ? extracted : null;
}

export interface SpanOptions {
  kind?: SpanKind;
  /**
   * A stored trace to continue (an event's, an exception's, an outbox row's): the span is its
   * child, linked to whatever span is active (the job or click that brought the work here).
   * null or invalid: a child of the active span, or a new trace with `root`.
   */
  parent?: string | null;
  /** Start a new trace when there is no `parent`, whatever is active (a relay loop). */
  root?: boolean;
  attributes?: Record<string, string | number | boolean>;
}

/**
 * Runs `work` in a span of its own, active for all it awaits (queries, queue adds, outbox rows
 * written). An error is recorded on the span and thrown on. With tracing off the span is
 * OpenTelemetry's no-op and this is a plain call.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const active = context.active();
  const stored = options.parent ? contextOf(options.parent) : null;
  const parent = stored ?? (options.root ? ROOT_CONTEXT : active);
  const links: Link[] = [];
  const activeSpan = trace.getSpanContext(active);
  if (stored && activeSpan && trace.isSpanContextValid(activeSpan))
    links.push({ context: activeSpan });
  const span = tracer().startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      links,
      ...(options.attributes ? { attributes: options.attributes } : {}),
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
    throw error;
  } finally {
    span.end();
  }
}

/** Whether spans are being recorded at all (a provider is registered). */
export function tracingActive(): boolean {
  return registered !== null;
}
