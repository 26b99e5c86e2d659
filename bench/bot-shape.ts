/**
 * The bot under a bench, in one of the two shapes it is deployed in:
 * - `single`: web and worker in the bench's own process (`npm start`);
 * - `split`: the Procfile's shape, `node dist/main.js worker`, `… clicks` and `… web` as child
 *   processes, so clicks are acknowledged by a process that runs no queue work and does not do
 *   the clicks' work either (`clicksProcess: false`: no clicks process, the web does it).
 * Either way the bench gets a database handle of its own, the HTTP URL, the event-loop thread
 * CPU of the process(es) and, when asked, CPU profiles of the web side.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { type Env, loadEnv } from "../src/env.js";
import { connectDatabase, type Db } from "../src/platform/db/db.js";
import { createLogger } from "../src/platform/logger.js";
import { type ProcessRole, startSyncdesk } from "../src/syncdesk.js";

export type Shape = "single" | "split";

export interface BotUnderBench {
  shape: Shape;
  env: Env;
  db: Db;
  url: string;
  /** Milliseconds of CPU the event-loop thread of each process has used so far. */
  cpuMs(): Record<string, number>;
  /** Milliseconds the event-loop thread of each process has so far waited, runnable, for a CPU. */
  waitMs(): Record<string, number>;
  /** Starts a CPU profile of the web side's event loop; the returned stop writes it to `file`. */
  profileWeb(file: string): Promise<() => Promise<void>>;
  /** Starts counting the web process's round trips (split, `trips`); the stop reports them. */
  tripsWeb(): Promise<() => Promise<Trips>>;
  stop(): Promise<void>;
}

/** Profile sampling interval, µs (BENCH_PROFILE_US): fine enough for requests of about 1 ms. */
const SAMPLING_US = Number(process.env.BENCH_PROFILE_US ?? 100);
const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
/** The build `npm start` runs (`npm run build` first). */
const BUILT_MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const PROFILE_HOOK = new URL("./profile-hook.ts", import.meta.url).href;
const TRIPS_HOOK = new URL("./trips-hook.ts", import.meta.url).href;

/** What bench/trips-hook.ts counted in a child between `trips()` and its stop. */
export interface Trips {
  pg: { roundTrips: number; statements: number; transactions: number };
  redisCommands: number;
  /** The most run statements (their text, shortened) and how often each ran. */
  top: [string, number][];
  /** process.memoryUsage() parts in MB: at the start (`…AtStart`) and the largest seen. */
  memory: Record<string, number>;
}

export async function startBot(
  shape: Shape,
  settings: Record<string, string>,
  /**
   * `built`: the split roles run from dist/ as the Procfile does (`npm run build` first).
   * `ownSessions`: each split role leads a session of its own, as separate services do.
   * `trips`: the split web process counts its Postgres round trips and Redis commands.
   * `clicksProcess` (true): split, a `clicks` process does the clicks' work.
   */
  options: {
    profiles?: boolean;
    trips?: boolean;
    built?: boolean;
    ownSessions?: boolean;
    clicksProcess?: boolean;
  } = {},
): Promise<BotUnderBench> {
  const env = loadEnv(settings);
  if (shape === "single") {
    const bot = await startSyncdesk(env, {
      roles: ["web", "worker"],
      logger: createLogger(env.LOG_LEVEL),
    });
    return {
      shape,
      env,
      db: bot.deps.db,
      url: `http://127.0.0.1:${bot.port}`,
      cpuMs: () => ({ "web+worker": threadCpuMs(process.pid) }),
      waitMs: () => ({ "web+worker": threadWaitMs(process.pid) }),
      profileWeb: (file) => profileThisThread(file),
      tripsWeb: () => Promise.reject(new Error("round trips are counted in the split shape")),
      stop: () => bot.stop(),
    };
  }
  // The worker first: the first start writes routing version 1, and two starts must not race.
  const built = options.built ?? false;
  const ownSession = options.ownSessions ?? false;
  // The clicks process before the web, so the web stands by from its first look.
  const started: Record<string, RoleProcess> = {};
  const stopAll = () => Promise.allSettled(Object.values(started).map((role) => role.stop()));
  try {
    started.worker = await startProcess(["worker"], settings, { built, ownSession });
    if (options.clicksProcess ?? true)
      started.clicks = await startProcess(["clicks"], settings, { built, ownSession });
    started.web = await startProcess(["web"], settings, {
      profiles: options.profiles,
      trips: options.trips,
      built,
      ownSession,
    });
  } catch (error) {
    await stopAll();
    throw error;
  }
  const web = started.web;
  const perProcess = (read: (pid: number) => number) => () =>
    Object.fromEntries(Object.entries(started).map(([role, child]) => [role, read(child.pid)]));
  const database = connectDatabase(env.DATABASE_URL, { max: 4 });
  return {
    shape,
    env,
    db: database.db,
    url: `http://127.0.0.1:${web.port}`,
    cpuMs: perProcess(threadCpuMs),
    waitMs: perProcess(threadWaitMs),
    profileWeb: (file) => web.profile(file),
    tripsWeb: () => web.trips(),
    stop: async () => {
      await stopAll();
      await database.close();
    },
  };
}

export interface RoleProcess {
  pid: number;
  port: number | null;
  profile(file: string): Promise<() => Promise<void>>;
  /** Starts counting round trips (started with `trips`); the returned stop reports them. */
  trips(): Promise<() => Promise<Trips>>;
  stop(): Promise<void>;
}

/**
 * `src/main.ts` with the given roles (both: `npm start`; one: a Procfile line) as a child
 * process, told its settings through the environment, once it serves; with `built`, dist/main.js
 * exactly as `npm start` runs it. With `profiles`, bench/profile-hook.ts is preloaded so that
 * profile() can start and stop a CPU profile of the child's event loop over the IPC channel.
 * With `ownSession`, the child leads a session of its own (Linux schedules each session as one
 * group: a service of its own, not a process beside the bench).
 */
export async function startProcess(
  roles: ProcessRole[],
  settings: Record<string, string>,
  options: { profiles?: boolean; trips?: boolean; built?: boolean; ownSession?: boolean } = {},
): Promise<RoleProcess> {
  const profiles = options.profiles ?? false;
  const role = roles.join("+");
  const hooks = [
    ...(profiles ? ["--import", PROFILE_HOOK] : []),
    ...(options.trips ? ["--import", TRIPS_HOOK] : []),
  ];
  // Built: exactly `npm start` (no TypeScript loader thread and its heap in the RSS), unless
  // a hook (TypeScript) needs tsx.
  const args = options.built
    ? [...startFlags(), ...(hooks.length > 0 ? ["--import", "tsx", ...hooks] : []), BUILT_MAIN]
    : ["--import", "tsx", ...hooks, MAIN];
  const child = spawn(process.execPath, [...args, ...roles], {
    env: { ...process.env, ...settings },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    detached: options.ownSession ?? false,
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  // A child in a session of its own does not get the terminal's Ctrl-C: pass it on.
  if (options.ownSession) {
    const interrupted = () => {
      child.kill("SIGTERM");
      // The last child told ends the bench, as Ctrl-C would have without a listener.
      if (process.listenerCount("SIGINT") === 0) process.exit(130);
    };
    process.once("SIGINT", interrupted);
    void exited.then(() => process.off("SIGINT", interrupted));
  }
  const reply = (type: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        const m = message as Record<string, unknown> | null;
        if (m?.type !== type) return;
        child.off("message", onMessage);
        if (typeof m.error === "string") reject(new Error(`${role}: ${m.error}`));
        else resolve(m);
      };
      child.on("message", onMessage);
      void exited.then((code) => reject(new Error(`${role} exited with ${code}`)));
    });
  const ready = await reply("syncdesk.ready");
  return {
    pid: child.pid as number,
    port: typeof ready.port === "number" ? ready.port : null,
    profile: async (file) => {
      if (!profiles) throw new Error(`the ${role} process was started without the profile hook`);
      await mkdir(dirname(file), { recursive: true });
      const started = reply("bench.profile.start.done");
      child.send({ type: "bench.profile.start", intervalUs: SAMPLING_US });
      await started;
      return async () => {
        const stopped = reply("bench.profile.stop.done");
        child.send({ type: "bench.profile.stop", file });
        await stopped;
      };
    },
    trips: async () => {
      if (!options.trips) throw new Error(`the ${role} process was started without the trips hook`);
      const started = reply("bench.trips.start.done");
      child.send({ type: "bench.trips.start" });
      await started;
      return async () => {
        const stopped = reply("bench.trips.stop.done");
        child.send({ type: "bench.trips.stop" });
        return (await stopped) as unknown as Trips;
      };
    },
    stop: () => stopChild(child, exited),
  };
}

/**
 * The node flags of package.json's `start` script (what `npm start` runs), then those of
 * BENCH_NODE_FLAGS (space-separated, to try one before it goes into the script).
 */
function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    scripts: Record<string, string>;
  };
  const script = pkg.scripts.start ?? "";
  const flags = script.split(/\s+/).filter((word) => word.startsWith("--"));
  return [...flags, ...(process.env.BENCH_NODE_FLAGS ?? "").split(/\s+/).filter(Boolean)];
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

async function profileThisThread(file: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: SAMPLING_US });
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    await saveProfile(file, profile);
    session.disconnect();
  };
}

async function saveProfile(file: string, profile: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(profile));
}

/** The scheduler's count (schedstat) of the time a process's main thread was runnable but not run. */
function threadWaitMs(pid: number): number {
  try {
    const [, waitNs] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ");
    return Number(waitNs) / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** utime + stime of a process's main (event-loop) thread, from /proc (Linux). */
export function threadCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}
