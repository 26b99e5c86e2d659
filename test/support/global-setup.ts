/**
 * Migrates a template database once per run; each test file clones it (CREATE DATABASE …
 * TEMPLATE), which takes milliseconds and isolates files completely. A schema per test would
 * not do: drizzle's generated foreign keys name the public schema.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { MIGRATIONS_FOLDER, migrateDatabase } from "../../src/platform/db/db.js";

export const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

function migrationsHash(): string {
  const hash = createHash("sha256");
  for (const file of readdirSync(MIGRATIONS_FOLDER).sort()) {
    if (file.endsWith(".sql")) hash.update(readFileSync(`${MIGRATIONS_FOLDER}/${file}`));
  }
  return hash.digest("hex").slice(0, 12);
}

export default async function setup(project: TestProject) {
  const template = `syncdesk_tpl_${migrationsHash()}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    const exists = await admin`select 1 from pg_database where datname = ${template}`;
    if (exists.length === 0) {
      const building = `${template}_build_${process.pid}`;
      await admin.unsafe(`drop database if exists "${building}"`);
      await admin.unsafe(`create database "${building}"`);
      const url = new URL(ADMIN_URL);
      url.pathname = `/${building}`;
      await migrateDatabase(url.toString());
      await admin
        .unsafe(`alter database "${building}" rename to "${template}"`)
        .catch(async (error) => {
          // A parallel run finished first; its template is the same.
          await admin.unsafe(`drop database if exists "${building}"`);
          if ((error as { code?: string }).code !== "42P04") throw error;
        });
    }
    // Leftovers of runs that were killed before their teardown. A database someone is still
    // connected to belongs to a run in progress (several people test on this machine at once):
    // leave it, and let a plain DROP fail if a connection arrives meanwhile.
    const stale = await admin<{ datname: string }[]>`
      select datname from pg_database d where datname like 'syncdesk_test_%'
        and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)`;
    for (const { datname } of stale)
      await admin.unsafe(`drop database if exists "${datname}"`).catch(() => {});
  } finally {
    await admin.end();
  }
  project.provide("templateDatabase", template);
}

declare module "vitest" {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}
