/**
 * The scenario the restart tests share: exceptions with SLA timers of seconds are opened, a
 * burst follows, and a server is restarted while the burst is being taken in. Afterwards the
 * tests count events, cards and the timers' audit rows.
 */
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import type { FailureEventInput } from "../../src/intake/failure-event.schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import { badJobs, burst, type Proc, processed, type Stage } from "./support.js";

/** routing.test.yml plus the `timers` client: a nudge 8 s after opening, the breach at 18 s. */
export const FAULT_ROUTING = fileURLToPath(
  new URL("../fixtures/routing.faults.yml", import.meta.url),
);
export const TIMER_STEPS = ["claim_nudge-0", "breach-0"];

/** The worker's settings for these tests: the SLA sweeper runs every second. */
export const RESTART_ENV = { ROUTING_FILE: FAULT_ROUTING, SLA_SWEEP_MS: "1000" };

export interface MidBurst {
  worker: Proc;
  timers: FailureEventInput[];
  timerIds: number[];
  events: FailureEventInput[];
  bad: { jobId: string; data: unknown }[];
  /** When the fault began: steps due after this had their timers go through the restart. */
  faultAt: number;
  /** What had been taken in (occurrences + rejections) when the fault began. */
  takenBefore: number;
}

/** Opens the timed exceptions, starts a burst and runs `fault` once part of it is in. */
export async function faultMidBurst(
  s: Stage,
  fault: () => Promise<void>,
  // Many batches long (a batch takes up to INTAKE_CONCURRENCY events, 256): the fault lands
  // between commits, not after the only one.
  size = { events: 2000, bad: 5 },
): Promise<MidBurst> {
  const worker = await s.start("worker");
  const timers = [1, 2, 3].map((n) => failureEvent({ client: "timers", sku: `SKU-TIMER-${n}` }));
  await s.report(timers);
  const timerIds = await eventually(
    async () => {
      const rows = await s.sql<{ id: number }[]>`
        select id::int as id from exceptions
        where client = 'timers' and next_deadline_at is not null order by id`;
      return rows.length === timers.length ? rows.map((row) => row.id) : null;
    },
    30_000,
    "the timed exceptions opened and armed",
  );
  const events = burst(size.events, 4);
  const bad = badJobs(size.bad);
  await s.report(events);
  await s.reportRaw(bad);
  await eventually(
    async () => (await processed(s)) >= timers.length + 30,
    30_000,
    "part of the burst",
  );
  const faultAt = Date.now();
  const takenBefore = await processed(s);
  await fault();
  return { worker, timers, timerIds, events, bad, faultAt, takenBefore };
}

interface FiredStep {
  exception_id: number;
  action: string;
  step: string;
  deadline: string;
  fired_at: string;
}

/**
 * Every timed exception gets its nudge and its breach, exactly once each, and the ones due
 * after the fault fired after it: their timers went through the restart. At least the
 * breaches must be due after it, or the test would prove nothing about lost timers.
 */
export async function everyTimerFiredOnce(s: Stage, run: MidBurst): Promise<void> {
  const read = () => s.sql<FiredStep[]>`
    select exception_id::int, action, details->>'step' as step,
      details->>'deadline' as deadline, details->>'firedAt' as fired_at
    from audit_log where source = 'sla' and exception_id = any(${run.timerIds})
    order by exception_id, id`;
  const wanted = run.timerIds.length * TIMER_STEPS.length;
  await eventually(
    async () => (await read()).length >= wanted,
    60_000,
    "every timed exception's nudge and breach",
  ).catch(async (error: Error) => {
    throw new Error(`${error.message}; fired: ${JSON.stringify(await read())}`);
  });
  // A duplicate would come from a second timer racing the first: give it a moment.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const fired = await read();
  for (const id of run.timerIds) {
    const mine = fired.filter((row) => row.exception_id === id);
    expect(
      mine.map((row) => row.step),
      `SLA steps of exception ${id}`,
    ).toEqual(TIMER_STEPS);
    expect(mine.map((row) => row.action)).toEqual(["sla_nudge", "sla_breached"]);
    const breach = mine.find((row) => row.step === "breach-0");
    expect(Date.parse(breach?.deadline ?? ""), "breach due after the fault").toBeGreaterThan(
      run.faultAt,
    );
    for (const row of mine) {
      if (Date.parse(row.deadline) > run.faultAt)
        expect(Date.parse(row.fired_at)).toBeGreaterThanOrEqual(Date.parse(row.deadline) - 250);
    }
  }
}
