/** The latency gates' job handlers (joined into the worker's table by src/app/jobs.ts). */
import type { Deps } from "../app/deps.js";
import type { JobHandlers } from "../platform/queue/catalog.js";
import type { gateJobs } from "./gate-jobs.schema.js";
import { checkLate, checkStale, type GateSettings, sweepGates } from "./gates.service.js";

export function gateJobHandlers(deps: Deps, settings: GateSettings): JobHandlers<typeof gateJobs> {
  return {
    "gate.late": () => checkLate(deps),
    "gate.stale": (data) => checkStale(deps, { names: [data.pipeline], firing: data.dueAt }),
    "gate.sweep": () => sweepGates(deps, settings),
  };
}

/** The sweep as a job scheduler: one run per interval across every worker replica. */
export async function scheduleGateSweep(
  deps: Pick<Deps, "queues">,
  everyMs: number,
): Promise<void> {
  await deps.queues.internal.upsertJobScheduler(
    "gate-sweep",
    { every: everyMs },
    { name: "gate.sweep", data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
  );
}
