/**
 * `npm start` (web and worker in one process), `npm run start:web`, `npm run start:worker`,
 * `npm run start:clicks` (the work of recorded clicks, beside a web process: syncdesk.ts).
 * SIGTERM drains: workers stop taking jobs and finish what they hold, Bolt stops listening,
 * connections close, and the process exits 0 within 10 seconds.
 */
import { EnvError, loadEnv } from "./env.js";
import { createLogger } from "./platform/logger.js";
import { lowerWorkerPriority } from "./platform/priority.js";
import { RoutingFileError } from "./routing/load.js";
import { type ProcessRole, startSyncdesk } from "./syncdesk.js";

const SHUTDOWN_LIMIT_MS = 10_000;
const ROLES: ProcessRole[] = ["web", "worker", "clicks"];

function rolesFrom(argv: string[]): ProcessRole[] {
  const asked = argv.filter((arg) => !arg.startsWith("-"));
  if (asked.length === 0) return ["web", "worker"];
  const unknown = asked.filter((arg) => !ROLES.includes(arg as ProcessRole));
  if (unknown.length) {
    console.error(
      `Unknown role ${unknown.join(", ")}: use web, worker, clicks, or nothing for web and worker.`,
    );
    process.exit(2);
  }
  return asked as ProcessRole[];
}

async function main(): Promise<void> {
  const roles = rolesFrom(process.argv.slice(2));
  let env: ReturnType<typeof loadEnv>;
  try {
    env = loadEnv();
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(env.LOG_LEVEL);
  if (roles.length === 1 && roles[0] === "worker") lowerWorkerPriority(env.WORKER_NICENESS, logger);
  let bot: Awaited<ReturnType<typeof startSyncdesk>>;
  try {
    bot = await startSyncdesk(env, { roles, logger });
  } catch (error) {
    if (error instanceof RoutingFileError) console.error(error.message);
    else logger.fatal({ err: error }, "syncdesk could not start");
    process.exit(1);
  }
  // Under a parent with an IPC channel (a bench, a process manager's wait-ready), say once
  // that this process is serving, and on which port: PORT=0 picks a free one.
  process.send?.({ type: "syncdesk.ready", roles, port: bot.port, opsPort: bot.opsPort });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "draining");
    const timer = setTimeout(() => {
      logger.error({ limitMs: SHUTDOWN_LIMIT_MS }, "shutdown took too long; exiting");
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    timer.unref();
    await bot.stop();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

await main();
