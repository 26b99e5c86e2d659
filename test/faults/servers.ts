/**
 * Private Redis and Postgres servers for the fault suite, so it can stop, kill and restart
 * them for real: the shared servers on :5432 and :6379 carry other people's test runs and are
 * never touched. Each server runs on a free port with its data in a temp dir; every one that
 * was started is killed and its dir removed when the test closes it, and, should a test hang
 * or its process die, by the run's teardown (servers-setup.ts).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { inject } from "vitest";
import { migrateDatabase } from "../../src/platform/db/db.js";
import { eventually } from "../support/harness.js";

const run = promisify(execFile);
const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

/**
 * Every server's dir lives under the run's directory (servers-setup.ts), whose teardown kills
 * whatever a hung or crashed test left running there; `close()` does it at once.
 */
function tempDir(label: string): string {
  return mkdtempSync(join(inject("faultServersRoot"), `${label}-`));
}

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A port nobody listens on now. Another process can take it before the server binds it, so
 * the starters below try again on a fresh port when the bind fails.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Redis

export interface PrivateRedis {
  url: string;
  port: number;
  dir: string;
  persistent: boolean;
  /** Stops the server (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits for its exit. */
  stop(signal: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts it again on the same port and dir. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `persistent`: an append-only file as a production BullMQ deployment must have: every write
 * reaches the kernel before its reply (a SIGKILL loses nothing; `everysec` bounds a machine
 * crash to a second), and `noeviction` so Redis never drops a job to make room. Without it,
 * a restart comes back empty.
 */
export async function startPrivateRedis(options: { persistent: boolean }): Promise<PrivateRedis> {
  const dir = tempDir("redis");
  const args = (port: number) => [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--pidfile",
    join(dir, "redis.pid"),
    "--save",
    "",
    "--maxmemory-policy",
    "noeviction",
    ...(options.persistent
      ? ["--appendonly", "yes", "--appendfsync", "everysec"]
      : ["--appendonly", "no"]),
  ];
  let child: ChildProcess | undefined;
  const launch = async (port: number): Promise<boolean> => {
    const started = spawn("redis-server", args(port), { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    started.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    started.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const ready = await eventually(
      async () => {
        if (output.includes("Ready to accept connections")) return "ready";
        if (started.exitCode !== null || started.signalCode !== null) return "exited";
        return null;
      },
      15_000,
      `redis-server on port ${port}`,
    );
    if (ready === "exited") {
      if (/Address already in use/.test(output)) return false;
      throw new Error(`redis-server did not start:\n${output}`);
    }
    child = started;
    return true;
  };
  let port = await freePort();
  for (let attempt = 0; !(await launch(port)); attempt++) {
    if (attempt >= 5) throw new Error("no free port for redis-server");
    port = await freePort();
  }
  const stop = async (signal: "SIGTERM" | "SIGKILL") => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill(signal);
    await exited;
    child = undefined;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    persistent: options.persistent,
    stop,
    async start() {
      // The port was ours a moment ago; if someone took it meanwhile, the test cannot go on.
      if (!(await launch(port))) throw new Error(`port ${port} was taken while Redis was down`);
    },
    async close() {
      await stop("SIGKILL");
      removeDir(dir);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Postgres

/** Postgres refuses to run as root: as root, its commands run as the postgres user. */
const asRoot = process.getuid?.() === 0;

async function asPostgres(command: string, args: string[]): Promise<string> {
  const [file, argv] = asRoot
    ? ["runuser", ["-u", "postgres", "--", join(PG_BIN, command), ...args]]
    : [join(PG_BIN, command), args];
  try {
    const { stdout } = await run(file, argv, { timeout: 60_000 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

let postgresIds: { uid: number; gid: number } | undefined;
async function ownedByPostgres(dir: string): Promise<void> {
  if (!asRoot) return;
  if (!postgresIds) {
    const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
    const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
    postgresIds = { uid, gid };
  }
  chownSync(dir, postgresIds.uid, postgresIds.gid);
}

function killPostmaster(data: string): void {
  try {
    const pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    // SIGQUIT: immediate shutdown; the postmaster takes its backends with it.
    if (pid > 0) process.kill(pid, "SIGQUIT");
  } catch {
    // Not running.
  }
}

/**
 * A stopped cluster with a migrated `syncdesk` database, made once per test file: initdb and
 * the migrations take seconds, a copy of the result a fraction of one.
 */
export interface ClusterTemplate {
  dir: string;
  close(): void;
}

export async function prepareClusterTemplate(): Promise<ClusterTemplate> {
  const dir = tempDir("pg-template");
  await ownedByPostgres(dir);
  const data = join(dir, "data");
  await asPostgres("initdb", [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync",
    "--no-instructions",
  ]);
  const cluster = await startCluster(dir);
  try {
    const admin = postgres(cluster.adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe("create database syncdesk");
    await admin.end();
    await migrateDatabase(cluster.databaseUrl);
  } finally {
    await cluster.stopCluster("fast");
  }
  return { dir, close: () => removeDir(dir) };
}

export interface PrivatePostgres {
  port: number;
  /** The migrated database the processes under test use. */
  databaseUrl: string;
  adminUrl: string;
  /** `pg_ctl restart`: fast (clients cut, clean checkpoint) or immediate (a crash, WAL replay). */
  restart(mode: "fast" | "immediate", downMs?: number): Promise<void>;
  close(): Promise<void>;
}

interface RunningCluster extends PrivatePostgres {
  stopCluster(mode: "fast" | "immediate"): Promise<void>;
}

async function startCluster(dir: string): Promise<RunningCluster> {
  const data = join(dir, "data");
  // fsync off: the faults here kill processes, never the machine, and the kernel keeps what
  // a killed postmaster wrote; crash recovery after `-m immediate` still replays the WAL.
  const launch = (port: number) =>
    asPostgres("pg_ctl", [
      "-D",
      data,
      "-l",
      join(dir, "postgres.log"),
      "-w",
      "-t",
      "60",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "start",
    ]);
  let port = await freePort();
  for (let attempt = 0; ; attempt++) {
    try {
      await launch(port);
      break;
    } catch (error) {
      const log = existsSync(join(dir, "postgres.log"))
        ? readFileSync(join(dir, "postgres.log"), "utf8")
        : "";
      if (attempt >= 5 || !/could not bind|Address already in use/.test(log)) {
        throw new Error(`${(error as Error).message}\n${log.slice(-2000)}`);
      }
      port = await freePort();
    }
  }
  const base = `postgres://postgres@127.0.0.1:${port}`;
  const stopCluster = async (mode: "fast" | "immediate") => {
    if (!existsSync(join(data, "postmaster.pid"))) return;
    await asPostgres("pg_ctl", ["-D", data, "-w", "-t", "30", "-m", mode, "stop"]);
  };
  return {
    port,
    databaseUrl: `${base}/syncdesk`,
    adminUrl: `${base}/postgres`,
    stopCluster,
    async restart(mode, downMs = 1000) {
      await stopCluster(mode);
      // Down for a moment, as a real restart is: clients see refused connections meanwhile.
      await pause(downMs);
      await launch(port);
    },
    async close() {
      await stopCluster("immediate").catch(() => killPostmaster(data));
    },
  };
}

/** A cluster of its own for one test: a copy of the template, started on a free port. */
export async function startPrivatePostgres(template: ClusterTemplate): Promise<PrivatePostgres> {
  const dir = tempDir("pg");
  await ownedByPostgres(dir);
  // cp -a keeps the postgres user's ownership and the data dir's 0700.
  await run("cp", ["-a", `${template.dir}/.`, dir]);
  rmSync(join(dir, "postgres.log"), { force: true });
  const cluster = await startCluster(dir);
  return {
    port: cluster.port,
    databaseUrl: cluster.databaseUrl,
    adminUrl: cluster.adminUrl,
    restart: cluster.restart,
    async close() {
      await cluster.close();
      removeDir(dir);
    },
  };
}

export { pause };
