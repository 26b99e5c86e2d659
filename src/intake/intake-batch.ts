/**
 * Intake of many failure jobs at once (the failures worker hands over what its jobs carry,
 * src/intake/intake.job.ts): one transaction and a few multi-row statements for the whole
 * batch instead of a dozen round trips per event, with every guarantee of one-at-a-time intake.
 *
 * - Idempotent by eventId: events already stored are duplicates (one read for the batch); an
 *   eventId twice in the batch counts once; one stored meanwhile by another worker makes the
 *   batch's insert skip it, and the batch is then done again one event at a time.
 * - One exception per fingerprint: repeats update the live row (locked in id order), new
 *   fingerprints are inserted in fingerprint order under the partial unique index, so two
 *   workers racing on one fingerprint make one row and never wait in a ring.
 * - Per fingerprint, the batch's events fold in their order of arrival: the first opens, the
 *   rest are occurrences, the latest by time is shown, each has its audit row.
 * - Storms (src/storms/storm-intake.ts), audit, outbox rows and SLA deadlines commit with the
 *   rows, and so does the caller's `inTransaction` work (the failed-delivery count); the
 *   after-commit hooks run once for the batch.
 * - A batch that fails for a reason other than a transient one is done again event by event,
 *   so one bad event fails alone.
 */
import { sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { inChangeTransaction } from "../exceptions/change.js";

import type { Tx } from "../platform/db/db.js";
import { failureEvents } from "../platform/db/schema.js";
import type { Settled } from "../platform/queue/batcher.js";
import { isTransientError } from "../platform/transient.js";
import { retryTargetProblem } from "../retries/retry-target.js";
import { type FailureEvent, failureEventSchema } from "./failure-event.schema.js";
import { type IntakeResult, ingestFailure, recordRejection } from "./intake.service.js";
import { BatchRace, writeBatch } from "./intake-batch-write.js";
import { check } from "./validation.js";

export type IntakeDeps = Pick<
  Deps,
  "db" | "routing" | "clock" | "storms" | "logger" | "exceptionEffects" | "queues"
>;

export interface FailureJob {
  id: string;
  data: unknown;
  /** The traceparent of the job's intake span: its exception and card continue it. */
  trace?: string | null;
}

export interface BatchOptions {
  /**
   * More work in the batch's transaction, after its rows (the failed-delivery count); what it
   * returns runs once the transaction committed.
   */
  inTransaction?: (tx: Tx, events: readonly FailureEvent[]) => Promise<() => Promise<void>>;
  /** Filled with the eventIds `inTransaction` saw in a transaction that committed. */
  done?: Set<string>;
}

/** One outcome per job, in order. */
export async function ingestFailures(
  deps: IntakeDeps,
  jobs: readonly FailureJob[],
  options: BatchOptions = {},
): Promise<Settled<IntakeResult>[]> {
  const outcomes: Settled<IntakeResult>[] = new Array(jobs.length);
  const settle = async (i: number, work: () => Promise<IntakeResult>) => {
    try {
      outcomes[i] = { ok: true, value: await work() };
    } catch (error) {
      outcomes[i] = { ok: false, error };
    }
  };
  const rejections: Promise<void>[] = [];
  const valid: { index: number; event: FailureEvent }[] = [];
  const config = deps.routing.current().config;
  jobs.forEach((job, index) => {
    const checked = check(failureEventSchema, job.data);
    const problem = checked.ok
      ? retryTargetProblem(checked.value.retry, config, deps.queues.own)
      : null;
    if (!checked.ok || problem) {
      const problems = checked.ok ? [problem as NonNullable<typeof problem>] : checked.problems;
      rejections.push(settle(index, () => recordRejection(deps, job, problems)));
    } else valid.push({ index, event: checked.value });
  });

  const taken =
    valid.length > 0 ? takeValid(deps, jobs, valid, outcomes, options) : Promise.resolve();
  await Promise.all([...rejections, taken]);
  return outcomes;
}

async function takeValid(
  deps: IntakeDeps,
  jobs: readonly FailureJob[],
  valid: readonly { index: number; event: FailureEvent }[],
  outcomes: Settled<IntakeResult>[],
  options: BatchOptions,
): Promise<void> {
  const known = await knownEvents(
    deps,
    valid.map((v) => v.event.eventId),
  );
  // The first of each eventId is taken; later ones, and those stored before, are duplicates.
  const fresh = new Map<string, { index: number; event: FailureEvent }>();
  const copies: { index: number; eventId: string }[] = [];
  for (const item of valid) {
    const { eventId } = item.event;
    if (known.has(eventId) || fresh.has(eventId)) copies.push({ index: item.index, eventId });
    else fresh.set(eventId, item);
  }
  if (fresh.size > 0) {
    const items = [...fresh.values()];
    try {
      const events = items.map((item) => item.event);
      let afterCommit = async () => {};
      const results = await inChangeTransaction(deps, async (unit) => {
        const written = await writeBatch(
          unit,
          deps,
          events,
          new Map(
            items.map((item) => [item.event.eventId, jobs[item.index]?.trace ?? null] as const),
          ),
        );
        if (options.inTransaction) afterCommit = await options.inTransaction(unit.tx, events);
        return written;
      });
      await afterCommit();
      if (options.inTransaction) for (const event of events) options.done?.add(event.eventId);
      items.forEach((item, i) => {
        outcomes[item.index] = { ok: true, value: results[i] as IntakeResult };
      });
    } catch (error) {
      // A blip (a dropped connection, a deadlock): every job of the batch is retried.
      if (isTransientError(error) && !(error instanceof BatchRace)) {
        for (const item of items) outcomes[item.index] = { ok: false, error };
      } else {
        if (!(error instanceof BatchRace)) {
          deps.logger.warn(
            { err: error, events: items.length },
            "a batch of failure events failed; taking them in one at a time",
          );
        }
        await Promise.all(
          items.map(async (item) => {
            try {
              const value = await ingestFailure(deps, jobs[item.index] as FailureJob);
              outcomes[item.index] = { ok: true, value };
            } catch (failure) {
              outcomes[item.index] = { ok: false, error: failure };
            }
          }),
        );
      }
    }
  }
  for (const copy of copies) {
    const stored = known.get(copy.eventId);
    const first = outcomes[fresh.get(copy.eventId)?.index ?? -1];
    if (stored === undefined && !first?.ok) {
      // Its first copy in this batch failed: so does this one (its job is retried).
      outcomes[copy.index] = first ?? { ok: false, error: new Error("event left unsettled") };
      continue;
    }
    const exceptionId = stored ?? exceptionOf(first) ?? 0;
    outcomes[copy.index] = { ok: true, value: { kind: "duplicate", exceptionId } };
  }
}

function exceptionOf(outcome: Settled<IntakeResult> | undefined): number | undefined {
  if (!outcome?.ok || outcome.value.kind === "rejected") return undefined;
  return outcome.value.exceptionId;
}

async function knownEvents(deps: Pick<Deps, "db">, eventIds: string[]) {
  const rows = await deps.db.execute<{ event_id: string; exception_id: string | number }>(sql`
    select event_id, exception_id from ${failureEvents}
    where event_id = any(select jsonb_array_elements_text(${JSON.stringify(eventIds)}::jsonb))`);
  return new Map(rows.map((row) => [row.event_id, Number(row.exception_id)]));
}
