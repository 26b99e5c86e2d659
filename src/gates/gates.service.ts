/**
 * The latency gates: a late delivery, a stale pipeline, a pipeline over its time-to-sync
 * budget, each an exception through the normal path. A gate opens its exception through
 * intake (fingerprint, routing to the pipeline's role, storms, card, SLA clock, audit) with an
 * event whose eventId is deterministic, so two workers, a timer and the sweep, or a job run
 * again, open it once; it clears it through the exception seam (`gate_cleared`).
 *
 * Postgres is the truth: `delivery_inflight.deadline_at`, the hour rows' last success and
 * `pipeline_watch`. BullMQ delayed jobs with deterministic ids are only the wake-up calls at
 * those deadlines; the sweep (a job scheduler) repairs any that were lost and judges the
 * over-budget gate.
 */
import type { Deps } from "../app/deps.js";
import type { DeliveryRecord } from "../deliveries/delivery.js";
import { deliveryTotals, lastDeliveries } from "../deliveries/figures.repo.js";
import { mergeInto, quantile, type Sketch } from "../deliveries/sketch.js";
import type { GateDetail } from "../exceptions/gate-detail.js";
import type { FailureEventInput } from "../intake/failure-event.schema.js";
import { fingerprint } from "../intake/fingerprint.js";
import { ingestFailure } from "../intake/intake.service.js";
import type { GatedSuccess } from "../outcomes/outcome.service.js";
import type { PipelineConfig } from "../routing/routing-file.schema.js";
import { clear, detailOf } from "./gate-clear.js";
import { clearLateOfFailed, clearUndeclaredPipelines } from "./gate-endings.js";
import { enqueueGateJob } from "./gate-jobs.schema.js";
import { countGate } from "./gate-metrics.js";
import {
  BUDGET_WINDOW_MS,
  budgetClearedSentence,
  judgeBudget,
  judgeStale,
  lateClearedSentence,
  lateEvent,
  mayPage,
  nextPageable,
  overBudgetEvent,
  pipelineSubject,
  staleClearedSentence,
  staleEvent,
} from "./gate-policy.js";
import {
  liveByFingerprint,
  markGated,
  noteStaleTimer,
  overdueDeliveries,
  postponeDeadlines,
  watches,
} from "./gates.repo.js";

export interface GateSettings {
  /** The over-budget gate judges no window with fewer timed deliveries than this. */
  minDeliveries: number;
}

const LATE_BATCH = 200;
/** How far back the stale gate looks for a pipeline's last success. */
const LAST_SUCCESS_LOOKBACK_MS = 30 * 86_400_000;
/** A stale timer this far past its deadline without having fired is taken as lost. */
const LOST_TIMER_MS = 2000;

const gateOf = (deps: Pick<Deps, "routing">, name: string) =>
  deps.routing.current().config.pipelines.find((pipeline) => pipeline.name === name) ?? null;

const pipelineFingerprint = (pipeline: PipelineConfig, mode: "stale" | "over_budget") =>
  fingerprint({ ...pipelineSubject(pipeline), failureMode: mode });

async function open(deps: Deps, event: FailureEventInput, role: string): Promise<number | null> {
  const result = await ingestFailure(deps, { id: `gate-${event.eventId}`, data: event }, { role });
  if (result.kind === "rejected") {
    deps.logger.error({ problems: result.problems }, "a latency gate's own event was refused");
    return null;
  }
  const gate = (event as { gate?: GateDetail }).gate;
  if (gate && result.kind !== "duplicate") countGate("opened", gate.kind, gate.pipeline);
  return result.exceptionId;
}

// ---- late delivery ----

/** Wakes the late-delivery gate at `dueAt` (one timer per second of deadlines). */
export async function armLate(deps: Pick<Deps, "queues" | "clock">, dueAt: number): Promise<void> {
  const second = Math.ceil(dueAt / 1000) * 1000;
  await enqueueGateJob(
    deps.queues,
    "gate.late",
    { dueAt: second },
    {
      jobId: `gate-late-${second}`,
      delay: Math.max(0, second - deps.clock.now().getTime()),
      removeOnComplete: true,
    },
  );
}

/** Exceptions a late-delivery check opens at once (each is an intake transaction). */
const LATE_PARALLEL = 8;
/** One late-delivery check at a time per process: two timers due together do not race. */
const lateRuns = new WeakMap<object, Promise<unknown>>();

/**
 * Every started delivery past its deadline: an exception for its SKU inside the pipeline's
 * hours; outside them its deadline moves to the next opening. Returns how many it opened.
 * Runs one at a time per process (a second call waits, then finds what is still due); two
 * processes may both open one, and intake's eventId makes that one exception.
 */
export async function checkLate(deps: Deps): Promise<number> {
  const previous = lateRuns.get(deps) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => lateOnce(deps));
  lateRuns.set(deps, run);
  try {
    return await run;
  } finally {
    if (lateRuns.get(deps) === run) lateRuns.delete(deps);
  }
}

async function lateOnce(deps: Deps): Promise<number> {
  let opened = 0;
  for (;;) {
    const now = deps.clock.now();
    const due = await overdueDeliveries(deps.db, now, LATE_BATCH);
    const gated: string[] = [];
    const asleep = new Map<number, string[]>();
    const toOpen: { event: FailureEventInput; role: string; eventId: string }[] = [];
    for (const delivery of due) {
      const pipeline = gateOf(deps, delivery.pipeline);
      // A pipeline renamed or removed since: nothing to judge it by any more.
      if (!pipeline) {
        gated.push(delivery.eventId);
        continue;
      }
      if (!mayPage(pipeline, now.getTime())) {
        const at = nextPageable(pipeline, now.getTime());
        asleep.set(at, [...(asleep.get(at) ?? []), delivery.eventId]);
        continue;
      }
      const event = lateEvent(pipeline, delivery, now.getTime());
      toOpen.push({ event, role: pipeline.role, eventId: delivery.eventId });
    }
    for (let i = 0; i < toOpen.length; i += LATE_PARALLEL) {
      const chunk = toOpen.slice(i, i + LATE_PARALLEL);
      const ids = await Promise.all(chunk.map((item) => open(deps, item.event, item.role)));
      opened += ids.filter((id) => id !== null).length;
      gated.push(...chunk.map((item) => item.eventId));
    }
    await markGated(deps.db, gated, now);
    for (const [at, ids] of asleep) {
      await postponeDeadlines(deps.db, ids, new Date(at));
      await armLate(deps, at);
    }
    if (due.length < LATE_BATCH) return opened;
  }
}

// ---- stale pipeline ----

/**
 * Arms the stale timer of a pipeline at `dueAt`, unless an earlier one is still ahead (or just
 * due): deliveries only move the deadline later, so that one wakes, judges and arms the next.
 * `firing`: the deadline of the timer running this, which is no longer ahead.
 */
async function armStale(
  deps: Deps,
  pipeline: string,
  dueAt: number,
  armed: number | null,
  firing: number | undefined,
): Promise<void> {
  const now = deps.clock.now().getTime();
  const ahead = armed !== null && armed !== firing && armed > now - LOST_TIMER_MS;
  if (ahead && armed <= dueAt) return;
  await enqueueGateJob(
    deps.queues,
    "gate.stale",
    { pipeline, dueAt },
    {
      jobId: `gate-stale-${pipeline}-${dueAt}`,
      delay: Math.max(0, dueAt - now),
      removeOnComplete: true,
    },
  );
  await noteStaleTimer(deps.db, pipeline, dueAt);
}

/**
 * Judges the stale gate of these pipelines (all declared ones when not given): opens the
 * exception of a stale one that has none, and arms each fresh one's timer at its deadline.
 */
export async function checkStale(
  deps: Deps,
  options: { names?: readonly string[]; firing?: number } = {},
): Promise<number> {
  const { names, firing } = options;
  const now = deps.clock.now();
  const pipelines = deps.routing
    .current()
    .config.pipelines.filter((p) => names === undefined || names.includes(p.name));
  if (pipelines.length === 0) return 0;
  const [last, watched, live] = await Promise.all([
    lastDeliveries(deps.db, now, LAST_SUCCESS_LOOKBACK_MS),
    watches(
      deps.db,
      pipelines.map((p) => p.name),
      now,
    ),
    liveByFingerprint(
      deps.db,
      pipelines.map((p) => pipelineFingerprint(p, "stale")),
    ),
  ]);
  const liveFingerprints = new Set(live.map((row) => row.fingerprint));
  let opened = 0;
  for (const pipeline of pipelines) {
    const watch = watched.get(pipeline.name);
    const lastDeliveredAt = last.get(pipeline.name)?.getTime() ?? null;
    const since = lastDeliveredAt ?? watch?.since ?? now.getTime();
    const judged = judgeStale(pipeline, since, now.getTime());
    const armed = watch?.staleTimerAt ?? null;
    if (judged.kind === "fresh") {
      await armStale(deps, pipeline.name, judged.deadline, armed, firing);
    } else if (judged.kind === "asleep") {
      await armStale(deps, pipeline.name, judged.at, armed, firing);
    } else if (!liveFingerprints.has(pipelineFingerprint(pipeline, "stale"))) {
      const event = staleEvent(
        pipeline,
        { lastDeliveredAt, deadline: judged.deadline },
        now.getTime(),
      );
      if ((await open(deps, event, pipeline.role)) !== null) opened++;
    }
  }
  return opened;
}

// ---- over budget ----

/** Time-to-sync P95 and timed deliveries per pipeline over the last 15 minutes. */
async function budgetWindows(
  deps: Deps,
): Promise<Map<string, { p95Ms: number | null; timed: number }>> {
  const totals = await deliveryTotals(deps.db, { now: deps.clock.now(), ms: BUDGET_WINDOW_MS });
  const merged = new Map<string, { sketch: Sketch; timed: number }>();
  for (const row of totals) {
    const entry = merged.get(row.pipeline) ?? { sketch: {}, timed: 0 };
    mergeInto(entry.sketch, row.sketch);
    entry.timed += row.timed;
    merged.set(row.pipeline, entry);
  }
  return new Map(
    [...merged].map(([name, { sketch, timed }]) => [
      name,
      { p95Ms: quantile(sketch, 0.95), timed },
    ]),
  );
}

/** Opens the over-budget exception of a pipeline whose P95 is over, clears it once under. */
export async function checkBudgets(deps: Deps, settings: GateSettings): Promise<number> {
  const now = deps.clock.now().getTime();
  const pipelines = deps.routing.current().config.pipelines;
  if (pipelines.length === 0) return 0;
  const [windows, live] = await Promise.all([
    budgetWindows(deps),
    liveByFingerprint(
      deps.db,
      pipelines.map((p) => pipelineFingerprint(p, "over_budget")),
    ),
  ]);
  const liveBy = new Map(live.map((row) => [row.fingerprint, row]));
  let opened = 0;
  for (const pipeline of pipelines) {
    const window = windows.get(pipeline.name) ?? { p95Ms: null, timed: 0 };
    const judged = judgeBudget(pipeline, window, settings.minDeliveries);
    const existing = liveBy.get(pipelineFingerprint(pipeline, "over_budget"));
    if (judged.kind === "under" && existing) {
      await clear(deps, existing.id, budgetClearedSentence(judged, pipeline.budgetMs), {
        gate: "over_budget",
        pipeline: pipeline.name,
        p95Ms: judged.p95Ms,
        deliveries: judged.deliveries,
      });
    } else if (judged.kind === "over" && !existing && mayPage(pipeline, now)) {
      if ((await open(deps, overBudgetEvent(pipeline, judged, now), pipeline.role)) !== null)
        opened++;
    }
  }
  return opened;
}

// ---- after a flush of deliveries ----

/**
 * What a committed flush means for the gates: started deliveries arm the late timer at their
 * deadlines; successes clear the late exception of their SKU (saying how late) and the stale
 * exception of their pipeline, whose next deadline is then armed; a delivery that failed for
 * good clears its late exception (its failure's card carries it). Idempotent: a flush redone
 * after a crash clears nothing twice and arms the same timers.
 */
export async function gatesAfterFlush(
  deps: Deps,
  records: readonly DeliveryRecord[],
  gated: readonly GatedSuccess[],
): Promise<void> {
  const deadlines = new Set<number>();
  const deliveredPipelines = new Map<string, number>();
  for (const record of records) {
    if (record.kind === "started" && record.deadlineAt !== null) {
      deadlines.add(Math.ceil(record.deadlineAt / 1000) * 1000);
    }
    if (record.kind === "delivered" && record.pipeline !== "") {
      const at = deliveredPipelines.get(record.pipeline) ?? 0;
      deliveredPipelines.set(record.pipeline, Math.max(at, record.occurredAt));
    }
  }
  for (const dueAt of deadlines) await armLate(deps, dueAt);
  await clearLate(deps, gated);
  await clearLateOfFailed(deps, records);
  await clearStale(deps, deliveredPipelines);
}

/** Successes of SKUs with a late-delivery exception (found by the recovery's own query). */
async function clearLate(deps: Deps, gated: readonly GatedSuccess[]): Promise<void> {
  for (const success of gated) {
    const detail = detailOf(success.gate);
    if (detail?.kind !== "late") continue;
    // A success from before the late change happened in the source cannot be its delivery.
    if (detail.triggeredAt && success.succeededAt < Date.parse(detail.triggeredAt)) continue;
    await clear(deps, success.exceptionId, lateClearedSentence(detail, success.succeededAt), {
      gate: "late",
      pipeline: detail.pipeline,
      deliveredAt: new Date(success.succeededAt).toISOString(),
      lateMs: success.succeededAt - Date.parse(detail.expectedAt),
      ...(detail.deliveryEventId ? { deliveryEventId: detail.deliveryEventId } : {}),
    });
  }
}

async function clearStale(deps: Deps, delivered: ReadonlyMap<string, number>): Promise<void> {
  if (delivered.size === 0) return;
  const pipelines = deps.routing
    .current()
    .config.pipelines.filter((pipeline) => delivered.has(pipeline.name));
  const live = await liveByFingerprint(
    deps.db,
    pipelines.map((p) => pipelineFingerprint(p, "stale")),
  );
  if (live.length === 0) return;
  const cleared: string[] = [];
  for (const pipeline of pipelines) {
    const row = live.find((r) => r.fingerprint === pipelineFingerprint(pipeline, "stale"));
    const detail = row ? detailOf((row.latestEvent as { gate?: unknown } | null)?.gate) : null;
    const at = delivered.get(pipeline.name);
    if (!row || !detail || at === undefined) continue;
    await clear(deps, row.id, staleClearedSentence(at, Date.parse(detail.expectedAt)), {
      gate: "stale",
      pipeline: pipeline.name,
      deliveredAt: new Date(at).toISOString(),
    });
    cleared.push(pipeline.name);
  }
  // The next stale deadline counts from this success.
  if (cleared.length > 0) await checkStale(deps, { names: cleared });
}

/**
 * The sweep: late deliveries whose timer was lost, every pipeline's stale timer, budgets, and
 * the pipeline gates of pipelines the routing no longer declares.
 */
export async function sweepGates(deps: Deps, settings: GateSettings): Promise<void> {
  await clearUndeclaredPipelines(deps);
  await checkLate(deps);
  await checkStale(deps);
  await checkBudgets(deps, settings);
}
