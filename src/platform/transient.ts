/**
 * Errors that say "try again in a moment": Postgres restarting or a backend terminated, a lost
 * connection, a deadlock or serialization failure, Redis reconnecting. A job whose producer
 * allowed one attempt must not fail for good because of one of these, so workers retry them
 * in-process with backoff (and src/intake/intake-sweeper.ts re-queues what still failed).
 */
import type { Logger } from "./logger.js";

/** SQLSTATE classes and codes worth another try. */
const TRANSIENT_SQLSTATES = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "53300", // too_many_connections
  "55P03", // lock_not_available
  "57P01", // admin_shutdown (pg_terminate_backend, restart)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up)
  "58030", // io_error
]);

/** postgres.js and Node socket codes for a connection that went away or never came. */
const TRANSIENT_CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTCONN",
  "EAI_AGAIN",
]);

/** Walks `cause` (drizzle wraps driver errors) looking for a transient code. */
export function isTransientError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth += 1) {
    if (typeof current !== "object") return false;
    const { code, message, cause } = current as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
    };
    if (typeof code === "string") {
      if (TRANSIENT_SQLSTATES.has(code) || code.startsWith("08")) return true;
      if (TRANSIENT_CONNECTION_CODES.has(code)) return true;
    }
    // ioredis, when a connection drops with commands in flight.
    if (typeof message === "string" && /Connection is closed|Stream isn't writeable/.test(message))
      return true;
    current = cause;
  }
  return false;
}

export interface RetryOptions {
  logger: Logger;
  /** Delays between attempts; the last error is rethrown when they run out. */
  delaysMs?: number[];
  /** Stops retrying (the error is rethrown) once this says so, e.g. while shutting down. */
  stopping?: () => boolean;
  context?: Record<string, unknown>;
}

/** About 10 s in all: long enough for a backend restart or a failover, short of a drain. */
export const DEFAULT_RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000, 3000, 3000];

/** Runs `work` again after a transient error, with backoff. `work` must be idempotent. */
export async function retryTransient<T>(work: () => Promise<T>, options: RetryOptions): Promise<T> {
  const delays = options.delaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      const delay = delays[attempt];
      if (delay === undefined || !isTransientError(error) || options.stopping?.()) throw error;
      options.logger.warn(
        { ...options.context, err: error, attempt: attempt + 1, delayMs: delay },
        "transient error; trying again",
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
