/**
 * A worker-only process yields the CPU to a web process on the same host (WORKER_NICENESS), so
 * a click is acknowledged first when the CPU is short: intake is throughput, an ack has 3 s.
 *
 * Its niceness is lowered before the work starts (the threads started later, libuv's pool,
 * inherit it). Linux's autogroup schedules each session as one group, fairly against other
 * sessions, and a niceness counts only inside its group: a worker started in a session of its
 * own (setsid, a daemon, a process manager that starts each process so) would yield to nobody.
 * So a worker that leads its own session lowers its group's niceness too (/proc/self/autogroup;
 * lowering needs no privilege). One that shares its session (a terminal, foreman) leaves the
 * group alone: the web process may be in it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { setPriority } from "node:os";
import type { Logger } from "./logger.js";

export function lowerWorkerPriority(niceness: number, logger: Logger): void {
  if (niceness === 0) return;
  try {
    setPriority(niceness);
  } catch (error) {
    logger.warn({ err: error, niceness }, "could not lower the worker's CPU priority");
    return;
  }
  logger.info(
    { niceness, autogroup: lowerOwnAutogroup(niceness) },
    "worker runs at a lower CPU priority than web",
  );
}

/** What became of this process's autogroup: lowered, shared (left alone), refused, or none. */
function lowerOwnAutogroup(niceness: number): "lowered" | "shared" | "refused" | "none" {
  let stat: string;
  try {
    stat = readFileSync("/proc/self/stat", "utf8");
    readFileSync("/proc/self/autogroup", "utf8");
  } catch {
    return "none"; // not Linux, or a kernel without autogroup
  }
  // Fields after the command name (which may hold spaces) start after the last ')'; the
  // session id is the 6th field of the line, the 4th of those.
  const session = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
  if (session !== process.pid) return "shared";
  try {
    writeFileSync("/proc/self/autogroup", String(niceness));
    return "lowered";
  } catch {
    return "refused";
  }
}
