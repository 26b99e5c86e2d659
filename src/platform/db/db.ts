/**
 * postgres.js + drizzle: one pool per process. Transactions are drizzle's `db.transaction`; an
 * exception changes only through the seam's (src/exceptions/change.ts), which runs its
 * after-commit hooks once it committed.
 */
import { fileURLToPath } from "node:url";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { type PostgresSsl, sslOption } from "../tls.js";
import { preparing } from "./prepared.js";
import * as schema from "./schema.js";

export { ensureDatabase } from "./ensure.js";

export type Db = PostgresJsDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** Either the pool or an open transaction: queries that can run in both take this. */
export type Queryable = Db | Tx;

export interface Database {
  db: Db;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../../drizzle", import.meta.url));

export function connectDatabase(
  url: string,
  options: { max?: number; ssl?: PostgresSsl } = {},
): Database {
  const sql = postgres(url, { max: options.max ?? 10, onnotice: () => {}, ...sslOption(options) });
  // Repeated statements prepared: one round trip each instead of two (see prepared.ts).
  const db = drizzle(preparing(sql), { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}

/** Applies pending migrations on a dedicated single connection (drizzle runs them in one tx). */
export async function migrateDatabase(
  url: string,
  options: { ssl?: PostgresSsl } = {},
): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, ...sslOption(options) });
  try {
    // Replicas starting together must not race each other through the migrations.
    await sql`select pg_advisory_lock(727274)`;
    await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await sql.end({ timeout: 5 });
  }
}
