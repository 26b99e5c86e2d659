/**
 * A private Postgres cluster (test/faults/servers.ts) restarted in the middle of a burst:
 * `pg_ctl restart -m fast` (clients cut, clean shutdown) and `-m immediate` (a crash, WAL
 * replayed on start). The shared server on :5432 is never touched. initdb and the migrations
 * run once for the file; each test starts a copy of that cluster.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import { everyTimerFiredOnce, faultMidBurst, RESTART_ENV } from "./restart-scenario.js";
import {
  type ClusterTemplate,
  type PrivatePostgres,
  prepareClusterTemplate,
  startPrivatePostgres,
} from "./servers.js";
import { everythingAccountedFor, oneCardEach, type Stage, startStage } from "./support.js";

let template: ClusterTemplate | undefined;
let stage: Stage | undefined;
let cluster: PrivatePostgres | undefined;

beforeAll(async () => {
  template = await prepareClusterTemplate();
}, 120_000);
afterAll(() => template?.close());
afterEach(async () => {
  try {
    await stage?.close();
  } finally {
    await cluster?.close();
    stage = undefined;
    cluster = undefined;
  }
});

describe("Postgres restarted", () => {
  for (const mode of ["fast", "immediate"] as const) {
    it(`pg_ctl restart -m ${mode} in the middle of a burst: every event taken in once, one card each, every timer fires once`, async () => {
      cluster = await startPrivatePostgres(template!);
      const server = cluster;
      stage = await startStage(RESTART_ENV, { databaseUrl: server.databaseUrl });
      const s = stage;
      const run = await faultMidBurst(s, () => server.restart(mode));
      expect(run.takenBefore).toBeLessThan(run.events.length + run.bad.length);
      await everythingAccountedFor(s, [...run.timers, ...run.events], run.bad);
      const [occurrences] = await s.sql<{ total: number }[]>`
        select sum(occurrences)::int as total from exceptions`;
      expect(occurrences?.total).toBe(run.timers.length + run.events.length);
      await oneCardEach(s);
      await everyTimerFiredOnce(s, run);
      expect(run.worker.child.exitCode).toBeNull();
      await eventually(async () => (await s.failures.getJobCountByTypes("failed")) === 0, 30_000);
    });
  }
});
