/**
 * Timers live in Redis, not in a process: a worker killed with SIGKILL while an exception's
 * nudges are pending, and started again, still fires them, once each. The harness runs only
 * the web role here; every job is taken by a real `src/main.ts worker` process.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, expect, it } from "vitest";
import { eventually, failureEvent } from "../support/harness.js";
import {
  killHard,
  liveTimers,
  openedCard,
  resolveByModal,
  SLA_ROUTING,
  slaSteps,
  spawnWorker,
  text,
  threadOf,
} from "../support/sla.js";
import { useHarness } from "../support/use-harness.js";

const workers: ChildProcess[] = [];

async function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawnWorker(h, SLA_ROUTING);
  workers.push(child);
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`worker process exited ${child.exitCode}`);
      return (await h.bot.deps.queues.internal.getWorkers()).length >= 1;
    },
    20_000,
    "a worker process",
  );
  return child;
}

const h = useHarness({ routingFile: SLA_ROUTING, roles: ["web"] });
afterAll(async () => {
  for (const child of workers) await killHard(child);
});

it("fires pending timers after the worker is killed with SIGKILL and started again", {
  timeout: 60_000,
}, async () => {
  const first = await startWorkerProcess();
  await h.report(failureEvent({ client: "donewhen", sku: "SKU-KILLED" }));
  const row = await openedCard(h, "SKU-KILLED");
  const pending = await liveTimers(h, row.id);
  expect(pending.map((job) => job.data.kind)).toEqual(["claim_nudge"]);
  expect(await slaSteps(h, row.id)).toEqual([]);

  await killHard(first);
  expect(first.signalCode).toBe("SIGKILL");
  await eventually(
    async () => (await h.bot.deps.queues.internal.getWorkers()).length === 0,
    10_000,
    "the killed worker's connections to close",
  );
  await startWorkerProcess();

  // Nudges at 2.5s and 5s after opening: both fire, once each, however long the restart took.
  const steps = await eventually(
    async () => {
      const fired = await slaSteps(h, row.id);
      return fired.length === 2 ? fired : null;
    },
    15_000,
    "both nudges",
  );
  expect(steps.map((step) => step.step)).toEqual(["claim_nudge-0", "claim_nudge-1"]);
  // A restart slower than 5s finds both due: the first is then recorded but not sent.
  const sent = steps.filter((step) => step.note === null);
  expect(sent.at(-1)?.step).toBe("claim_nudge-1");
  await eventually(
    async () => threadOf(h, row).length === sent.length,
    // The killed worker may have died relaying the card's lane: its lease runs out first.
    10_000,
    "one thread reply per nudge sent",
  );
  expect(threadOf(h, row).map(text).at(-1)).toMatch(/claim window is over/);
  expect(await slaSteps(h, row.id)).toHaveLength(2);
  await resolveByModal(h, "U0ALICE", row);
  expect(await liveTimers(h, row.id)).toEqual([]);
});
