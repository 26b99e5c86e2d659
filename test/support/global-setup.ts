/**
 * Migrates a template database once per run; each test file clones it (CREATE DATABASE …
 * TEMPLATE), which takes milliseconds and isolates files completely. A schema per test would
 * not do: drizzle's generated foreign keys name the public schema.
 *
 * Also gives the run its id and holds the run's advisory lock until teardown, so that other
 * runs leave this run's databases alone (test-databases.ts), and drops what finished runs left
 * behind long enough ago.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { MIGRATIONS_FOLDER, migrateDatabase } from "../../src/platform/db/db.js";
import {
  adminClient,
  databaseUrl,
  dropStaleDatabases,
  lockRun,
  newRunId,
} from "./test-databases.js";

function migrationsHash(): string {
  const hash = createHash("sha256");
  for (const file of readdirSync(MIGRATIONS_FOLDER).sort()) {
    if (file.endsWith(".sql")) hash.update(readFileSync(`${MIGRATIONS_FOLDER}/${file}`));
  }
  return hash.digest("hex").slice(0, 12);
}

export default async function setup(project: TestProject) {
  const runId = newRunId();
  const template = `syncdesk_tpl_${migrationsHash()}`;
  // One connection for the whole run: it holds the run's lock.
  const lock = adminClient();
  await lockRun(lock, runId);
  const admin = adminClient();
  try {
    const exists = await admin`select 1 from pg_database where datname = ${template}`;
    if (exists.length === 0) {
      const building = `${template}_build_${runId}`;
      await admin.unsafe(`create database "${building}"`);
      await migrateDatabase(databaseUrl(building));
      await admin
        .unsafe(`alter database "${building}" rename to "${template}"`)
        .catch(async (error) => {
          // A parallel run finished first; its template is the same.
          await admin.unsafe(`drop database if exists "${building}"`);
          if ((error as { code?: string }).code !== "42P04") throw error;
        });
    }
    await dropStaleDatabases(admin, runId);
  } catch (error) {
    await lock.end();
    throw error;
  } finally {
    await admin.end();
  }
  project.provide("templateDatabase", template);
  project.provide("testRunId", runId);
  return async () => {
    // Whatever is left of this run was kept on purpose (a failed file) or orphaned (a file that
    // died before its afterAll): say so, once, where the run's output ends.
    const left = await lock<{ datname: string }[]>`
      select datname from pg_database where datname like ${`syncdesk_t_${runId}_%`}`;
    if (left.length > 0) {
      console.warn(`test databases kept by this run: ${left.map((d) => d.datname).join(", ")}`);
    }
    await lock.end();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    templateDatabase: string;
    testRunId: string;
  }
}
