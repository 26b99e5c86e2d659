/** The one schema of process.env: every setting syncdesk reads, validated at start-up. */
import { z } from "zod";
import { parseDuration } from "./platform/duration.js";
import { isValidTimeZone } from "./platform/time-zone.js";
import { DATABASE_SSL_MODES } from "./platform/tls.js";

const emptyAsUndefined = (value: unknown) => (value === "" ? undefined : value);
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess(emptyAsUndefined, schema.optional());
const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) =>
  z.preprocess(emptyAsUndefined, schema.default(fallback as never));

/**
 * A duration setting (90s, 15m, 2h, 400d) in milliseconds; `fallback` is parsed the same way
 * (prefault, not default: it goes through the transform like a value that was set).
 */
const duration = (fallback: string) =>
  z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .transform((text, ctx) => {
        try {
          return parseDuration(text);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: (error as Error).message });
          return z.NEVER;
        }
      })
      .prefault(fallback),
  );

export const envSchema = z.object({
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-/, "must be a bot token (xoxb-…)"),
  SLACK_SIGNING_SECRET: z.string().min(8, "must be the app's signing secret"),
  SLACK_APP_TOKEN: optional(z.string().regex(/^xapp-/, "must be an app-level token (xapp-…)")),
  SLACK_API_URL: optional(z.url()),
  PORT: withDefault(z.coerce.number().int().min(0).max(65535), 3000),
  /**
   * Port of /livez, /readyz and /metrics, apart from the public Slack port; every role serves
   * it. Unset: only the web process serves them, on PORT, beside /slack/events and /healthz.
   */
  METRICS_PORT: optional(z.coerce.number().int().min(0).max(65535)),
  /** When set, /metrics asks for `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: optional(z.string().min(16, "must be at least 16 characters")),
  DATABASE_URL: withDefault(z.url(), "postgres://postgres@127.0.0.1:5432/syncdesk"),
  /** TLS to Postgres: disable, require (encrypted), verify-full; unset: the URL's sslmode. */
  DATABASE_SSL: optional(z.enum(DATABASE_SSL_MODES)),
  /** PEM file of the CA that signed the Postgres server's certificate (managed services). */
  DATABASE_SSL_CA: optional(z.string()),
  REDIS_URL: withDefault(z.url(), "redis://127.0.0.1:6379"),
  /** PEM file of the CA of Redis's certificate; set, or a rediss:// URL, means TLS. */
  REDIS_TLS_CA: optional(z.string()),
  /** BullMQ key prefix; `{name}` (a hash tag, required on a Redis Cluster) allowed at its start. */
  QUEUE_PREFIX: withDefault(
    z
      .string()
      .regex(
        /^(\{[A-Za-z0-9_-]+\})?[A-Za-z0-9_-]*$/,
        "must be letters, digits, - and _, after an optional {hash-tag}",
      )
      .min(1),
    "bull",
  ),
  /** Redis Cluster seed nodes, `host:port,host:port`; REDIS_URL then gives only credentials. */
  REDIS_CLUSTER_NODES: optional(
    z.string().regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, "must be host:port,host:port,…"),
  ),
  ROUTING_FILE: withDefault(z.string(), "./routing.yml"),
  /** Channel where routing proposals are posted for review; unset = listed by `/inventory routes`. */
  /** SHA-256 (hex) of the admins' token that lets a shell break glass (`npm run routes`). */
  BREAK_GLASS_TOKEN_SHA256: optional(
    z.string().regex(/^[0-9a-f]{64}$/, "must be the SHA-256 of the token, 64 lowercase hex digits"),
  ),
  /**
   * Where producers read the contract: a URL under which README.md and contract/*.schema.json
   * of this repository are served (e.g. its page on your Git host, `…/blob/main`). Rejection
   * cards link there; unset, they name the files.
   */
  CONTRACT_DOCS_URL: optional(z.url()),
  APPROVALS_CHANNEL: optional(z.string().regex(/^[CG][A-Z0-9]{2,}$/, "must be a Slack channel ID")),
  /** How often each replica checks the active routing version, besides LISTEN/NOTIFY. */
  ROUTING_POLL_MS: withDefault(z.coerce.number().int().min(100), 5000),
  FAILURE_QUEUE: withDefault(z.string().min(1), "inventory-sync-failures"),
  OUTCOME_QUEUE: withDefault(z.string().min(1), "inventory-sync-outcomes"),
  RETRY_POLL_MS: withDefault(z.coerce.number().int().min(100), 5000),
  /**
   * How long before the work of a worker that died is taken over elsewhere: BullMQ's job lock,
   * and the lease on each Slack outbox lane (a card's posts and updates) it was relaying.
   */
  QUEUE_LOCK_MS: withDefault(z.coerce.number().int().min(1000), 30_000),
  /** How often failed intake jobs (a database outage outlasting in-process retries) are re-queued. */
  INTAKE_SWEEP_MS: withDefault(z.coerce.number().int().min(100), 30_000),
  /**
   * Internal jobs one worker runs at once. They wait on Postgres and Redis, not the CPU: at 4,
   * 200 exceptions opened at once fired their SLA steps 3-7 s late; at 16, 31 ms (p50).
   */
  JOB_CONCURRENCY: withDefault(z.coerce.number().int().min(1).max(100), 16),
  /**
   * Failure events one worker holds at once (the failures queue). They are taken in as
   * batches: one transaction for all the events that arrived while the last batch committed,
   * so this is also the largest batch. One event alone goes through at once, unbatched.
   * 256: two batches in flight of up to ~128 events each; a batch costs about the same round
   * trips whatever its size, so at 64 (batches of ~21) bench:intake drained a third slower
   * (0.20 of the floor against 0.29 at 256, same machine, back to back; Postgres CPU per event
   * twice as high) for ~30 MB less peak RSS.
   */
  INTAKE_CONCURRENCY: withDefault(z.coerce.number().int().min(1).max(1000), 256),
  /**
   * The CPU niceness (0-19) a process running the worker role alone gives itself at start, so
   * that a web process on the same host answers Slack first when the CPU is short: intake is
   * throughput, an ack has 3 s. A process with both roles keeps 0. On bench:storm (split, 2
   * cores, 200 clicks at once during a second 10,000-event storm) click-ack P99 was 378-404 ms
   * with the worker at 0 and 161-331 ms at 10. Lowering one's own priority needs no privilege.
   */
  WORKER_NICENESS: withDefault(z.coerce.number().int().min(0).max(19), 10),
  /**
   * Deliveries (src/deliveries): how often, at most, a worker flushes the delivery write-ahead
   * log (a Redis stream) into the figures in Postgres, and how many outcome jobs it holds at
   * once. A job is held only until its records are staged in the log (about 20 ms), not until
   * the flush, so a few hundred jobs keep a worker busy: 2000, when each job waited a whole
   * flush, ran one-delivery jobs at 0.2 of a bare worker's rate and held 45 KB per job. On
   * bench:deliveries (2 loaded cores) 500 ran at 0.54-0.62 of the floor, 300 at 0.46-0.67.
   */
  DELIVERY_FLUSH_MS: withDefault(z.coerce.number().int().min(10).max(60_000), 1000),
  OUTCOME_CONCURRENCY: withDefault(z.coerce.number().int().min(1).max(20_000), 500),
  /** The longest a judged delivery waits to be staged in the log (sooner when 500 wait). */
  DELIVERY_STAGE_MS: withDefault(z.coerce.number().int().min(1).max(1000), 20),
  /**
   * Records the delivery write-ahead log may hold before staging waits (Postgres down or
   * behind): jobs are then held, as they were before the log, until flushes catch up.
   */
  DELIVERY_WAL_MAX_RECORDS: withDefault(z.coerce.number().int().min(1000), 200_000),
  /**
   * Latency gates (src/gates): how often the gate sweep re-arms lost gate timers and judges
   * each pipeline's time-to-sync P95 (the over-budget gate), and the fewest timed deliveries
   * in its 15-minute window that it judges at all.
   */
  GATE_SWEEP_MS: withDefault(z.coerce.number().int().min(100), 5000),
  GATE_MIN_DELIVERIES: withDefault(z.coerce.number().int().min(1), 20),
  /** How often the SLA sweeper re-arms deadlines that passed with no live timer. */
  SLA_SWEEP_MS: withDefault(z.coerce.number().int().min(100), 30_000),
  /** More than this many new fingerprints of one kind within STORM_WINDOW form a storm. */
  STORM_THRESHOLD: withDefault(z.coerce.number().int().min(1), 20),
  /** A duration (90s, 5m): how close new fingerprints must be, and the quiet that ends a storm. */
  STORM_WINDOW: duration("5m"),
  /** Retry all paces the members' retries: one every this many milliseconds. */
  STORM_RETRY_INTERVAL_MS: withDefault(z.coerce.number().int().min(0), 200),
  /** When the weekly digest goes out: a cron pattern (5 fields, or 6 with seconds), or "off". */
  DIGEST_CRON: withDefault(
    z
      .string()
      .trim()
      .regex(
        /^(off|[0-9*/,?LW#A-Za-z-]+( [0-9*/,?LW#A-Za-z-]+){4,5})$/,
        'must be a cron pattern like "0 9 * * 1" or "off"',
      ),
    "0 9 * * 1",
  ),
  /** The IANA time zone DIGEST_CRON is read in. */
  DIGEST_TZ: withDefault(
    z.string().refine(isValidTimeZone, "must be an IANA time zone like Europe/Berlin"),
    "UTC",
  ),
  /** Reconciliation (src/recon): the queue producers put inventory snapshot parts on. */
  SNAPSHOT_QUEUE: withDefault(z.string().min(1), "inventory-snapshots"),
  /** Snapshot parts one worker loads at once (each a multi-row insert of up to 10,000 items). */
  SNAPSHOT_CONCURRENCY: withDefault(z.coerce.number().int().min(1).max(16), 4),
  /**
   * How close in time a consumer's snapshot and its source of truth's must be taken to be
   * compared, and how long a snapshot may take to arrive whole before it expires.
   */
  RECON_WINDOW: duration("30m"),
  /** When every client with a source of truth is reconciled: a cron pattern in DIGEST_TZ, or "off". */
  RECON_CRON: withDefault(
    z
      .string()
      .trim()
      .regex(
        /^(off|[0-9*/,?LW#A-Za-z-]+( [0-9*/,?LW#A-Za-z-]+){4,5})$/,
        'must be a cron pattern like "0 2 * * *" or "off"',
      ),
    "0 2 * * *",
  ),
  /** Snapshots and reconciliation runs (with their deltas), counted from receipt / the run. */
  RECON_RETENTION: duration("90d"),
  /** Retention (src/retention): failure payloads, counted from their exception's resolution. */
  RETENTION_FAILURE_PAYLOADS: duration("90d"),
  /** Raw payloads of rejected events, counted from receipt (the row and its errors stay). */
  RETENTION_REJECTED_EVENTS: duration("90d"),
  /** Audit rows: who did what and why. Kept longest; never shorter than the payloads'. */
  RETENTION_AUDIT: duration("730d"),
  /** Slack deliveries (issue 12's table, when it lands). */
  RETENTION_DELIVERIES: duration("90d"),
  /** How often the retention job runs (once across replicas). */
  RETENTION_SWEEP_MS: withDefault(z.coerce.number().int().min(1000), 3_600_000),
  /**
   * HTTP intake (`POST /v1/events`, src/producers): the largest request body taken, in bytes,
   * and each producer's rate: events per second sustained, with bursts up to PRODUCER_BURST
   * events (at least 500, one full batch).
   */
  PRODUCER_MAX_BODY_BYTES: withDefault(
    z.coerce
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024),
    5 * 1024 * 1024,
  ),
  PRODUCER_RATE_PER_SEC: withDefault(z.coerce.number().positive().max(1_000_000), 200),
  PRODUCER_BURST: withDefault(
    z.coerce.number().int().min(500, "must be at least 500 (one full batch)"),
    2000,
  ),
  /**
   * OpenTelemetry traces (src/platform/tracing.ts), off unless an OTLP endpoint is set or
   * OTEL_TRACES_EXPORTER=otlp. The exporter, sampler and batch processor read their other
   * standard variables (OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER, OTEL_BSP_*) themselves.
   */
  OTEL_SDK_DISABLED: optional(
    z.preprocess(
      (value) => (typeof value === "string" ? value.trim().toLowerCase() : value),
      z.enum(["true", "false"], "must be true or false").transform((value) => value === "true"),
    ),
  ),
  OTEL_TRACES_EXPORTER: optional(
    z
      .string()
      .regex(
        /^\s*(otlp|none)\s*(,\s*(otlp|none)\s*)*$/i,
        "must be otlp or none (the exporters syncdesk ships)",
      ),
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(z.url()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(z.url()),
  /** The OTLP exporter shipped speaks protobuf over HTTP (port 4318), not gRPC. */
  OTEL_EXPORTER_OTLP_PROTOCOL: optional(z.literal("http/protobuf", "must be http/protobuf")),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: optional(z.literal("http/protobuf", "must be http/protobuf")),
  OTEL_SERVICE_NAME: withDefault(z.string().min(1), "syncdesk"),
  LOG_LEVEL: withDefault(
    z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    "info",
  ),
});

export type Env = z.infer<typeof envSchema>;

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "EnvError";
  }
}

/** Parses the environment; the error names every missing or bad variable, never its value. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = envSchema.safeParse(source);
  if (result.success) return result.data;
  throw new EnvError(
    result.error.issues.map((issue) => {
      const name = issue.path.join(".");
      return source[name] === undefined || source[name] === ""
        ? `${name} is required`
        : `${name} ${issue.message}`;
    }),
  );
}
