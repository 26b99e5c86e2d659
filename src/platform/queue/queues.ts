/** The queues one process talks to, created once in the composition root. */
import { type JobsOptions, Queue, type Telemetry } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { INTERNAL_QUEUE, type JobDataOf, type JobSpecs, jobOptions } from "./catalog.js";

export interface Queues {
  prefix: string;
  connection: Redis;
  /** BullMQ's OpenTelemetry hooks (src/platform/tracing.ts); unset with tracing off. */
  telemetry?: Telemetry;
  internal: Queue;
  failures: Queue;
  outcomes: Queue;
  /** The names of the queues syncdesk itself works: never a producer's retry target. */
  own: readonly string[];
  /** A producer's queue (retry targets): created on first use and kept. */
  external(name: string): Queue;
  close(): Promise<void>;
}

export function createQueues(
  connection: Redis,
  names: { prefix: string; failures: string; outcomes: string },
  logger?: Logger,
  telemetry?: Telemetry,
): Queues {
  const open = new Map<string, Queue>();
  const get = (name: string) => {
    let queue = open.get(name);
    if (!queue) {
      // With telemetry each add is a span, and the job carries its trace to the worker.
      queue = new Queue(name, {
        connection,
        prefix: names.prefix,
        ...(telemetry ? { telemetry } : {}),
      });
      // Without a listener BullMQ prints each refused reconnect as a bare stack on stderr,
      // once per queue, breaking the JSON log while Redis restarts. ioredis reconnects itself.
      if (logger) {
        const queueLogger = logger.child({ queue: name });
        queue.on("error", (error) => queueLogger.warn({ err: error }, "queue connection error"));
      }
      open.set(name, queue);
    }
    return queue;
  };
  return {
    prefix: names.prefix,
    connection,
    ...(telemetry ? { telemetry } : {}),
    internal: get(INTERNAL_QUEUE),
    failures: get(names.failures),
    outcomes: get(names.outcomes),
    own: [INTERNAL_QUEUE, names.failures, names.outcomes],
    external: get,
    close: async () => {
      await Promise.all([...open.values()].map((queue) => queue.close()));
    },
  };
}

/**
 * The typed `enqueue` of a feature's job catalog: adds a catalogued job with its payload
 * checked against the catalog's schema.
 */
export function enqueuer<C extends JobSpecs>(catalog: C) {
  return async function enqueue<N extends keyof C & string>(
    queues: Pick<Queues, "internal">,
    name: N,
    data: JobDataOf<C, N>,
    options: JobsOptions = {},
  ): Promise<void> {
    const spec = catalog[name] as C[N];
    const payload = spec.schema.parse(data);
    await queues.internal.add(name, payload, jobOptions(spec, options));
  };
}
