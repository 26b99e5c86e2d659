/**
 * Making sure the database exists before anything connects to it, when any number of processes
 * start at once (a Procfile runner starts web and workers together on a fresh database).
 *
 * The target database is tried first: when it exists (every start but the very first) the
 * maintenance database is never touched, so a role that may not connect there (PgBouncer, a
 * managed service's restricted user) starts fine. Only when the target is missing (SQLSTATE
 * 3D000) does this go to the maintenance database, take an advisory lock there so creators queue
 * up, and create it; a creator that still loses a race (42P04, or 23505 on
 * pg_database_datname_index from two CREATE DATABASE at once) finds it made and goes on.
 */
import postgres from "postgres";
import { type PostgresSsl, sslOption } from "../tls.js";

/** pg_advisory_lock key of database creation (on the maintenance database). */
const CREATE_LOCK = 727_273;

export interface EnsureOptions {
  /** Where to create the database from; default: the same server's `postgres` database. */
  maintenanceUrl?: string;
  /** TLS for both connections (src/platform/tls.ts). */
  ssl?: PostgresSsl;
}

export type EnsureResult = "exists" | "created" | "created-elsewhere";

const codeOf = (error: unknown) => (error as { code?: string } | null)?.code;

/** Creates the database named in `url` unless it exists; says which happened. */
export async function ensureDatabase(
  url: string,
  options: EnsureOptions = {},
): Promise<EnsureResult> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!name) return "exists";
  if (await databaseAnswers(url, options)) return "exists";

  const maintenance = options.maintenanceUrl ?? withDatabase(url, "postgres");
  const sql = postgres(maintenance, { max: 1, onnotice: () => {}, ...sslOption(options) });
  try {
    // Session lock on the one connection; released when it ends, whatever happens below.
    await sql`select pg_advisory_lock(${CREATE_LOCK})`;
    const rows = await sql`select 1 from pg_database where datname = ${name}`;
    if (rows.length > 0) return "created-elsewhere";
    try {
      await sql.unsafe(`create database "${name.replaceAll('"', '""')}"`);
      return "created";
    } catch (error) {
      // Another creator that did not take the lock (an older release, a person at psql).
      if (codeOf(error) === "42P04" || codeOf(error) === "23505") return "created-elsewhere";
      throw error;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** true: the database exists and answers; false: it does not exist (3D000); other errors throw. */
async function databaseAnswers(url: string, options: EnsureOptions): Promise<boolean> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, ...sslOption(options) });
  try {
    await sql`select 1`;
    return true;
  } catch (error) {
    if (codeOf(error) === "3D000") return false;
    throw error;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function withDatabase(url: string, database: string): string {
  const other = new URL(url);
  other.pathname = `/${database}`;
  return other.toString();
}
