/**
 * Test databases that belong to one run. Several people (and CI) test on one Postgres at once,
 * so no run may drop another's database:
 *
 * - every run has an id (`<base36 start time><random>`), embedded in its databases' names
 *   (`syncdesk_t_<run>_<file>`), and holds a session-level advisory lock named after it for as
 *   long as it runs (global setup keeps that connection open);
 * - a test file drops its own database when it passed without leaks, and keeps it (printing its
 *   name) when it failed;
 * - global setup drops only databases of runs whose lock is free (the run is over) and that are
 *   older than TEST_KEEP_DATABASES_HOURS (default 24): time enough to inspect a kept one.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";

export const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
/** The first key of the two-key advisory locks runs hold; the second is hashtext(run id). */
const RUN_LOCK_CLASS = 7_311_011;
const NAME = /^syncdesk_t_([0-9a-z]+)_[0-9a-f]+$/;
/** Databases of the scheme before run ids; their runs cannot be told apart. */
const LEGACY = "syncdesk_test_%";
const KEEP_HOURS = Number(process.env.TEST_KEEP_DATABASES_HOURS ?? 24);

type Sql = postgres.Sql;

export const adminClient = (): Sql => postgres(ADMIN_URL, { max: 1, onnotice: () => {} });

export function newRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
}

function runStartedAt(runId: string): number {
  return Number.parseInt(runId.slice(0, -4), 36);
}

export function testDatabaseName(runId: string): string {
  return `syncdesk_t_${runId}_${randomBytes(4).toString("hex")}`;
}

export function databaseUrl(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Holds the run's lock on `sql` (one connection, kept open until the run ends). */
export async function lockRun(sql: Sql, runId: string): Promise<void> {
  await sql`select pg_advisory_lock(${RUN_LOCK_CLASS}, hashtext(${runId}))`;
}

async function runIsOver(sql: Sql, runId: string): Promise<boolean> {
  const [row] = await sql<{ free: boolean }[]>`
    select pg_try_advisory_lock(${RUN_LOCK_CLASS}, hashtext(${runId})) as free`;
  if (!row?.free) return false;
  await sql`select pg_advisory_unlock(${RUN_LOCK_CLASS}, hashtext(${runId}))`;
  return true;
}

/**
 * Drops what finished runs left behind (kept after a failure, or orphaned by a killed run) once
 * it is older than the keep time. A database someone is connected to is never dropped: a plain
 * DROP refuses it. Returns the names dropped.
 */
export async function dropStaleDatabases(sql: Sql, currentRun: string): Promise<string[]> {
  const cutoff = Date.now() - KEEP_HOURS * 3_600_000;
  const dropped: string[] = [];
  const names = await sql<{ datname: string }[]>`
    select datname from pg_database where datname like 'syncdesk\_t\_%'`;
  for (const { datname } of names) {
    const runId = NAME.exec(datname)?.[1];
    if (!runId || runId === currentRun || runStartedAt(runId) > cutoff) continue;
    if (!(await runIsOver(sql, runId))) continue;
    if (await dropQuietly(sql, datname)) dropped.push(datname);
  }
  // Before run ids: only by age (the data directory's creation), and only when nobody is on it.
  const legacy = await sql<{ datname: string; created: Date }[]>`
    select datname, (pg_stat_file('base/' || oid || '/PG_VERSION')).modification as created
    from pg_database where datname like ${LEGACY}`.catch(() => []); // needs a superuser
  for (const { datname, created } of legacy) {
    if (created.getTime() > cutoff) continue;
    if (await dropQuietly(sql, datname)) dropped.push(datname);
  }
  return dropped;
}

async function dropQuietly(sql: Sql, database: string): Promise<boolean> {
  try {
    await sql.unsafe(`drop database if exists "${database}"`);
    return true;
  } catch {
    return false; // in use
  }
}

/** Backends connected to a database (other than an admin's own), for leak reports. */
export async function connectionsTo(sql: Sql, database: string): Promise<string[]> {
  const rows = await sql<{ pid: number; app: string; state: string | null; query: string }[]>`
    select pid, application_name as app, state, left(query, 80) as query
    from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`;
  return rows.map((r) => `pid ${r.pid} ${r.app || "(no name)"} ${r.state ?? ""}: ${r.query}`);
}
