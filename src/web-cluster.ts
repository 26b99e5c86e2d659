/**
 * WEB_CONCURRENCY: the web role as several processes sharing one port (node:cluster), after
 * Heroku's convention. One web process is one event loop, so a burst of clicks is acked one
 * after the other however many cores the machine has; copies ack side by side. Whatever a web
 * process keeps lives in Redis or Postgres (replay memory, recorded clicks, Slack rate buckets),
 * so copies share nothing but the port.
 *
 * The primary serves nothing itself: it forks the copies, replaces one that dies (unless they
 * keep dying), passes SIGTERM on and exits once all have drained, and sums the copies' metrics
 * when one of them is scraped (src/platform/metrics.ts asks it), so `/metrics` is the whole
 * web role whichever copy answers.
 */
import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry } from "prom-client";
import type { Logger } from "./platform/logger.js";
import { CLUSTER_METRICS } from "./platform/metrics.js";

/** Each copy drains within 10 s (src/main.ts); the primary waits a little longer. */
const SHUTDOWN_LIMIT_MS = 12_000;
/** Copies dying faster than this, one after the other, are a crash loop: stop, do not refork. */
const RESTART_GAP_MS = 2_000;

export function runWebCluster(copies: number, logger: Logger): void {
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let lastRestart = 0;
  let readySaid = false;
  const alive = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);

  const stop = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason, copies: alive().length }, "stopping the web processes");
    setTimeout(() => process.exit(1), SHUTDOWN_LIMIT_MS).unref();
    for (const worker of alive()) worker.process.kill("SIGTERM");
    const exitWhenDone = () => {
      if (alive().length === 0) process.exit(code);
      else setTimeout(exitWhenDone, 50);
    };
    exitWhenDone();
  };

  cluster.on("message", (worker, message: { type?: string; id?: number } | null) => {
    // The first copy to serve says so for the whole role (benches, process managers).
    if (message?.type === "syncdesk.ready" && !readySaid) {
      readySaid = true;
      process.send?.(message);
    }
    if (message?.type === CLUSTER_METRICS.request) {
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: CLUSTER_METRICS.reply, id: message.id, text }),
        (error: unknown) =>
          worker.send({ type: CLUSTER_METRICS.reply, id: message.id, error: String(error) }),
      );
    }
  });
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code, signal }, "a web process stopped");
    const now = Date.now();
    if (now - lastRestart < RESTART_GAP_MS) {
      logger.fatal("web processes keep stopping; exiting so the platform restarts the role");
      stop("crash loop", 1);
      return;
    }
    lastRestart = now;
    cluster.fork();
  });
  process.on("SIGTERM", () => stop("SIGTERM", 0));
  process.on("SIGINT", () => stop("SIGINT", 0));
  for (let i = 0; i < copies; i++) cluster.fork();
  logger.info({ copies }, "web processes started");
}
