/** Processes as Linux's /proc shows them (benches and fault tests watch the bot's children). */
import { readdirSync, readFileSync } from "node:fs";

/** Pids whose parent is `pid`; none where there is no /proc. */
export function childPids(pid: number): number[] {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  return names
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((child) => {
      try {
        const stat = readFileSync(`/proc/${child}/stat`, "utf8");
        // Fields after the command name (which may hold spaces) start after the last ')'.
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
      } catch {
        return false;
      }
    });
}
