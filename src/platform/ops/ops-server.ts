/**
 * What an orchestrator and Prometheus ask every process (web, worker, both):
 *
 * - `GET /livez`: 200 while the event loop turns. Never checks dependencies, so a Postgres
 *   outage does not get every pod restarted at once.
 * - `GET /readyz`: 200 when Postgres and Redis answer (each within CHECK_TIMEOUT_MS) and, in a
 *   worker, its BullMQ workers run; 503 with the failing checks otherwise. Each probe checks
 *   afresh, so it turns 503 within a probe plus CHECK_TIMEOUT_MS of an outage, and 200 after.
 * - `GET /metrics`: the process's Prometheus registry, behind `Authorization: Bearer
 *   <METRICS_TOKEN>` when one is set.
 *
 * On METRICS_PORT (its own listener, never the public Slack port) when set; otherwise the web
 * process serves them beside /slack/events as before.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { serveMetrics } from "../metrics.js";

const CHECK_TIMEOUT_MS = 2_000;

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;
export interface OpsRoute {
  path: string;
  handler: Handler;
}

/** A named readiness check: resolves when the dependency answers, rejects (or hangs) when not. */
export type ReadinessCheck = { name: string; check: () => Promise<unknown> };

export interface Ops {
  /** /livez, /readyz and /metrics, for a listener of their own or the Slack port. */
  routes: OpsRoute[];
  /** Adds a check (a worker's "its BullMQ workers run"); checked from then on. */
  addCheck(check: ReadinessCheck): void;
  /** The checks' results now: `ok` only when every one passed. */
  readiness(): Promise<{ ok: boolean; checks: Record<string, string> }>;
}

export function createOps(options: { checks: ReadinessCheck[]; metricsToken?: string }): Ops {
  const checks = [...options.checks];
  const readiness = async () => {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), CHECK_TIMEOUT_MS);
          return [name, "ok"] as const;
        } catch (error) {
          return [name, (error as Error)?.message || "failed"] as const;
        }
      }),
    );
    return {
      ok: results.every(([, result]) => result === "ok"),
      checks: Object.fromEntries(results),
    };
  };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body));
  };
  const routes: OpsRoute[] = [
    { path: "/livez", handler: async (_req, res) => json(res, 200, { ok: true }) },
    {
      path: "/readyz",
      handler: async (_req, res) => {
        const report = await readiness();
        json(res, report.ok ? 200 : 503, report);
      },
    },
    {
      path: "/metrics",
      handler: async (req, res) => {
        if (options.metricsToken && !bearerMatches(req, options.metricsToken)) {
          res.writeHead(401, { "www-authenticate": "Bearer", "content-type": "text/plain" });
          res.end("unauthorized\n");
          return;
        }
        await serveMetrics(req, res);
      },
    },
  ];
  return { routes, addCheck: (check) => checks.push(check), readiness };
}

/** Serves the routes on their own port (0: any free one); GET only, everything else 404/405. */
export async function listenOps(
  routes: OpsRoute[],
  port: number,
  host?: string,
): Promise<{ port: number; close(): Promise<void> }> {
  const byPath = new Map(routes.map((route) => [route.path, route.handler]));
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const handler = byPath.get(path);
    if (!handler) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end();
      return;
    }
    handler(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end();
    });
  });
  // Probes and scrapes are short: do not let an idle keep-alive hold shutdown up.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function bearerMatches(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const given = Buffer.from(header.startsWith("Bearer ") ? header.slice(7) : "");
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Postgres answers a query on the process's pool. */
export function postgresCheck(sql: (strings: TemplateStringsArray) => PromiseLike<unknown>) {
  return { name: "postgres", check: async () => sql`select 1` } satisfies ReadinessCheck;
}

/**
 * Redis answers PING. A connection that is not ready fails at once: ioredis would queue the
 * command until it reconnects (maxRetriesPerRequest: null), piling up a PING per probe.
 */
export function redisCheck(redis: { status: string; ping(): Promise<string> }) {
  return {
    name: "redis",
    check: async () => {
      if (redis.status !== "ready") throw new Error(`connection ${redis.status}`);
      await redis.ping();
    },
  } satisfies ReadinessCheck;
}
