/**
 * Durable SLA timers. Postgres is the truth: each exception stores the deadline of its next
 * ladder step (`next_deadline_at`). A BullMQ delayed job on the internal queue is only the
 * wake-up call for that deadline, with a deterministic id, so arming twice (two replicas, a
 * repeat after a crash) is one timer. `armAfterChanges` runs after every committed change; the sweeper
 * re-arms any deadline that passed without a live timer (a lost Redis key, a failed job).
 */
import { and, asc, eq, inArray, isNull, lt, ne, or } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import type { ExceptionRow } from "../exceptions/card.js";
import type { CommittedChange } from "../exceptions/effects.js";
import { exceptions } from "../platform/db/schema.js";
import { policyFor, slaClockOf, timerJobId } from "./exception-sla.js";
import { ladderSteps, nextStep, type SlaStep } from "./policy.js";
import { enqueueSlaJob, enqueueSlaJobs } from "./sla-jobs.schema.js";

export type SlaDeps = Pick<Deps, "db" | "queues" | "routing" | "clock" | "logger">;

/** A deadline this far in the past with no live timer is one the sweeper takes over. */
export const SWEEP_GRACE_MS = 1000;
const SWEEP_BATCH = 200;
const LIVE_STATES = new Set(["waiting", "active", "prioritized", "waiting-children"]);

/**
 * The exception seam's after-commit hook (registered by the composition root): the timers of
 * every committed change whose SLA clock moved follow it. The deadline was stored with the
 * change; this only reads the rows as committed now (no lock: a later change arms after its
 * own commit) and makes Redis agree. Never throws: a click or an intake must not fail because
 * Redis hiccuped; the sweeper re-arms whatever this could not.
 */
export async function armAfterChanges(
  deps: SlaDeps,
  changes: readonly CommittedChange[],
): Promise<void> {
  const moved = changes.filter((change) => clockMoved(change.before, change.row));
  if (moved.length === 0) return;
  const resolved = moved.filter((change) => change.row.state === "resolved");
  if (resolved.length > 0)
    await disarmResolved(
      deps,
      resolved.map((change) => change.row),
    );
  const live = moved.filter((change) => change.row.state !== "resolved");
  if (live.length === 0) return;
  const rows = await deps.db
    .select()
    .from(exceptions)
    .where(inArray(exceptions.id, [...new Set(live.map((change) => change.row.id))]));
  const config = deps.routing.current().config;
  // A new exception has no timers yet: nothing to cancel, nothing to look up; its first
  // timers are added together (one round trip for a batch of intake).
  const opened = new Set(live.filter((change) => !change.before).map((change) => change.row.id));
  await armOpened(
    deps,
    rows.filter((row) => opened.has(row.id)),
  );
  for (const row of rows) {
    if (opened.has(row.id)) continue;
    try {
      const clock = slaClockOf(row);
      const policy = policyFor(config, row);
      await followLadder(deps, row.id, nextStep(clock, policy), ladderSteps(clock, policy));
    } catch (error) {
      deps.logger.error(
        { exceptionId: row.id, err: error },
        "could not arm the SLA timer; the sweeper will retry",
      );
    }
  }
}

/**
 * The first timer of each exception just opened, all in one `addBulk`. A timer that exists
 * already (this ran before, for a job done again after a crash) is left as it is; one that
 * could not be added is the sweeper's: the deadline is in the row.
 */
async function armOpened(deps: SlaDeps, rows: readonly ExceptionRow[]): Promise<void> {
  if (rows.length === 0) return;
  const config = deps.routing.current().config;
  const now = deps.clock.now().getTime();
  const timers = rows.flatMap((row) => {
    const step = nextStep(slaClockOf(row), policyFor(config, row));
    if (!step) return [];
    return [
      {
        data: {
          exceptionId: row.id,
          kind: step.kind,
          index: step.index,
          dueAt: step.dueAt,
          rearm: 0,
        },
        options: {
          jobId: timerJobId(row.id, step, 0),
          delay: Math.max(0, step.dueAt - now),
          removeOnComplete: true,
        },
      },
    ];
  });
  try {
    await enqueueSlaJobs(deps.queues, "sla.step", timers);
  } catch (error) {
    deps.logger.error(
      { exceptionIds: rows.slice(0, 20).map((row) => row.id), err: error },
      "could not arm the SLA timers of new exceptions; the sweeper will",
    );
  }
}

/** Whether a change touched what the SLA ladder is computed from. */
function clockMoved(before: ExceptionRow | null, row: ExceptionRow): boolean {
  if (!before) return true;
  const key = (r: ExceptionRow) =>
    JSON.stringify([
      r.state,
      r.claimedBy,
      r.role,
      r.ruleIndex,
      r.openedAt,
      r.breachedAt,
      r.escalations,
      r.slaFired,
      r.nextDeadlineAt,
    ]);
  return key(before) !== key(row);
}

/** The timer that is running this code, so a re-arm never collides with its own job id. */
export interface FiringTimer {
  jobId: string;
  rearm: number;
}

/** What arming found: a timer it created or promoted, one already live, or no step ahead. */
export type TimerOutcome = "created" | "promoted" | "live";

/**
 * Re-computes the deadline under the row lock and arms it: the sweeper's and a stale timer's
 * repair. Throws, for job handlers that want BullMQ to retry.
 */
export async function rearm(
  deps: SlaDeps,
  exceptionId: number,
  firing?: FiringTimer,
): Promise<{ next: SlaStep; timer: TimerOutcome } | null> {
  const planned = await deps.db.transaction(async (tx) => {
    // The row lock orders concurrent arms: each computes from the latest committed state.
    const [row] = await tx
      .select()
      .from(exceptions)
      .where(eq(exceptions.id, exceptionId))
      .for("no key update");
    if (!row) return null;
    const policy = policyFor(deps.routing.current().config, row);
    const clock = slaClockOf(row);
    const next = nextStep(clock, policy);
    const deadline = next ? new Date(next.dueAt) : null;
    if (row.nextDeadlineAt?.getTime() !== deadline?.getTime()) {
      await tx
        .update(exceptions)
        .set({ nextDeadlineAt: deadline })
        .where(eq(exceptions.id, exceptionId));
    }
    return { next, ladder: ladderSteps(clock, policy) };
  });
  if (!planned) return null;
  return followLadder(deps, exceptionId, planned.next, planned.ladder, firing);
}

/** Keeps the timer of `next` and cancels the ladder's others (never the running one). */
async function followLadder(
  deps: SlaDeps,
  exceptionId: number,
  next: SlaStep | null,
  ladder: SlaStep[],
  firing?: FiringTimer,
): Promise<{ next: SlaStep; timer: TimerOutcome } | null> {
  const rearmCount =
    next && firing && timerJobId(exceptionId, next) === firing.jobId ? firing.rearm + 1 : 0;
  const keep = next ? timerJobId(exceptionId, next, rearmCount) : null;
  const obsolete = ladder
    .map((step) => timerJobId(exceptionId, step))
    .filter((jobId) => jobId !== keep && jobId !== firing?.jobId);
  // remove() answers 0 for an active job (one about to find itself stale): that is fine.
  await Promise.all(obsolete.map((jobId) => deps.queues.internal.remove(jobId)));
  if (!next) return null;
  return { next, timer: await ensureTimer(deps, exceptionId, next, rearmCount) };
}

/**
 * After many exceptions were resolved in one transaction (which stored their deadline as none):
 * removes the timers `rearm` would have removed, all at once. Never throws: a timer left behind
 * wakes, finds its exception resolved and does nothing.
 */
export async function disarmResolved(
  deps: SlaDeps,
  rows: readonly Pick<
    ExceptionRow,
    | "id"
    | "ruleIndex"
    | "role"
    | "openedAt"
    | "claimedBy"
    | "state"
    | "breachedAt"
    | "escalations"
    | "slaFired"
  >[],
): Promise<void> {
  const config = deps.routing.current().config;
  const jobIds = rows.flatMap((row) =>
    ladderSteps(slaClockOf(row), policyFor(config, row)).map((step) => timerJobId(row.id, step)),
  );
  const results = await Promise.allSettled(
    jobIds.map((jobId) => deps.queues.internal.remove(jobId)),
  );
  const failed = results.filter((result) => result.status === "rejected").length;
  if (failed > 0) {
    deps.logger.warn(
      { timers: jobIds.length, failed },
      "could not remove some SLA timers of resolved exceptions; they will find them resolved",
    );
  }
}

/**
 * Makes sure one timer for `step` is delayed, waiting or running. A delayed one whose deadline
 * has come is promoted (the wall clock moved, or a worker was away); a finished or failed one
 * is replaced, since BullMQ ignores an add while a job with that id exists in any state.
 */
export async function ensureTimer(
  deps: SlaDeps,
  exceptionId: number,
  step: SlaStep,
  rearmCount = 0,
): Promise<TimerOutcome> {
  const queue = deps.queues.internal;
  const jobId = timerJobId(exceptionId, step, rearmCount);
  const delay = Math.max(0, step.dueAt - deps.clock.now().getTime());
  const existing = await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (state === "delayed") {
      if (delay === 0) {
        const promoted = await existing.promote().then(
          () => true,
          (error: unknown) => {
            deps.logger.debug({ jobId, err: error }, "timer moved on before it could be promoted");
            return false;
          },
        );
        if (promoted) return "promoted";
      }
      return "live";
    }
    if (LIVE_STATES.has(state)) return "live";
    await queue.remove(jobId);
  }
  await enqueueSlaJob(
    deps.queues,
    "sla.step",
    {
      exceptionId,
      kind: step.kind,
      index: step.index,
      dueAt: step.dueAt,
      rearm: rearmCount,
    },
    { jobId, delay, removeOnComplete: true },
  );
  return "created";
}

/**
 * Re-arms exceptions whose deadline passed with no timer acting on it, and new ones that were
 * never armed (the process died between commit and arm). Runs as a BullMQ job scheduler, so
 * one replica sweeps at a time; re-arming is idempotent, so an overlap is harmless. Returns
 * how many timers it re-created (a row whose timer was still live only gets its deadline
 * re-checked, and is not counted).
 */
export async function sweepSla(deps: SlaDeps): Promise<number> {
  const cutoff = new Date(deps.clock.now().getTime() - SWEEP_GRACE_MS);
  const due = await deps.db
    .select({ id: exceptions.id })
    .from(exceptions)
    .where(
      and(
        ne(exceptions.state, "resolved"),
        or(
          lt(exceptions.nextDeadlineAt, cutoff),
          // Unresolved and never breached always has a step ahead: null means never armed.
          and(
            isNull(exceptions.nextDeadlineAt),
            isNull(exceptions.breachedAt),
            lt(exceptions.openedAt, cutoff),
          ),
        ),
      ),
    )
    .orderBy(asc(exceptions.nextDeadlineAt))
    .limit(SWEEP_BATCH);
  let rearmed = 0;
  let promoted = 0;
  for (const { id } of due) {
    try {
      const armed = await rearm(deps, id);
      if (armed?.timer === "created") rearmed++;
      if (armed?.timer === "promoted") promoted++;
    } catch (error) {
      deps.logger.error({ exceptionId: id, err: error }, "sweeper could not re-arm an SLA timer");
    }
  }
  if (rearmed > 0 || promoted > 0) {
    // rearmed: timers that were missing and were created; promoted: due timers woken early.
    deps.logger.info(
      { rearmed, promoted, checked: due.length },
      "SLA sweeper re-armed overdue timers",
    );
  }
  return rearmed;
}
