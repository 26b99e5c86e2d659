/**
 * What one drain of bench/intake.ts cost, per event: CPU of the bot (its event-loop thread and
 * the whole process), of the Postgres backends serving its database, and of Redis (the whole
 * server: other work on the machine shows up there), Redis commands (INFO commandstats, the
 * whole server too) and transactions committed in the bot's database (pg_stat_database, the
 * bench's own polling included). Linux only: CPU is read from /proc.
 */
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import type postgres from "postgres";
import { threadCpuMs } from "./bot-shape.js";

export interface CostSnapshot {
  botThreadMs: number;
  botProcessMs: number;
  /** CPU ms by backend pid of the bot's database. */
  backends: Map<number, number>;
  redisCpuMs: number;
  redisCalls: number;
  commits: number;
}

/** utime + stime of a whole process (every thread), from /proc (Linux). */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

export async function snapshotCosts(
  sql: postgres.Sql,
  redis: Redis,
  database: string,
  botPid: number,
): Promise<CostSnapshot> {
  const pids = await sql<{ pid: number }[]>`
    select pid from pg_stat_activity where datname = ${database}`;
  const [stats] = await sql<{ commits: string }[]>`
    select xact_commit::text as commits from pg_stat_database where datname = ${database}`;
  const info = await redis.info("all");
  const cpu = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  let calls = 0;
  for (const match of info.matchAll(/cmdstat_[^:]+:calls=(\d+)/g)) calls += Number(match[1]);
  return {
    botThreadMs: threadCpuMs(botPid),
    botProcessMs: processCpuMs(botPid),
    backends: new Map(pids.map((row) => [row.pid, processCpuMs(row.pid)])),
    redisCpuMs: (cpu("used_cpu_sys") + cpu("used_cpu_user")) * 1000,
    redisCalls: calls,
    commits: Number(stats?.commits ?? 0),
  };
}

/** Per event, between two snapshots. */
export function costsPerEvent(before: CostSnapshot, after: CostSnapshot, events: number) {
  let postgresMs = 0;
  for (const [pid, ms] of after.backends) {
    const was = before.backends.get(pid) ?? 0;
    if (Number.isFinite(ms)) postgresMs += ms - (Number.isFinite(was) ? was : 0);
  }
  return {
    botThreadMs: (after.botThreadMs - before.botThreadMs) / events,
    botProcessMs: (after.botProcessMs - before.botProcessMs) / events,
    postgresMs: postgresMs / events,
    redisMs: (after.redisCpuMs - before.redisCpuMs) / events,
    redisCalls: (after.redisCalls - before.redisCalls) / events,
    commits: (after.commits - before.commits) / events,
  };
}
