/**
 * Gates whose cause went away without the success that usually clears them:
 * - a late delivery that then failed for good: the failure event opened (or joined) an
 *   exception of its own, which carries that delivery from here, so the late one is cleared;
 * - the stale or over-budget gate of a pipeline the routing no longer declares (removed or
 *   renamed): nothing would ever judge it again, so the sweep clears it, naming the version.
 * Both clear through the exception seam, like every other gate.
 */
import type { Deps } from "../app/deps.js";
import type { DeliveryRecord } from "../deliveries/delivery.js";
import { GATE_FAILURE_MODE } from "../exceptions/gate-detail.js";
import { clear, detailOf } from "./gate-clear.js";
import { lateFailedSentence, undeclaredSentence } from "./gate-policy.js";
import { liveGateExceptions } from "./gates.repo.js";

/** Failed deliveries among `records` end the late exception opened for them, if any. */
export async function clearLateOfFailed(
  deps: Deps,
  records: readonly DeliveryRecord[],
): Promise<number> {
  const failedAt = new Map<string, number>();
  for (const record of records) {
    if (record.kind === "failed" && record.eventId !== undefined)
      failedAt.set(record.eventId, record.occurredAt);
  }
  if (failedAt.size === 0) return 0;
  const live = await liveGateExceptions(deps.db, [GATE_FAILURE_MODE.late], [...failedAt.keys()]);
  let cleared = 0;
  for (const row of live) {
    const detail = detailOf(row.gate);
    const eventId = detail?.deliveryEventId;
    const at = eventId === undefined ? undefined : failedAt.get(eventId);
    if (!detail || eventId === undefined || at === undefined) continue;
    const done = await clear(deps, row.id, lateFailedSentence(eventId, at), {
      gate: "late",
      pipeline: detail.pipeline,
      deliveryEventId: eventId,
      failedAt: new Date(at).toISOString(),
    });
    if (done) cleared++;
  }
  return cleared;
}

/** Clears the stale and over-budget exceptions of pipelines the routing no longer declares. */
export async function clearUndeclaredPipelines(deps: Deps): Promise<number> {
  const { config, version } = deps.routing.current();
  const declared = new Set(config.pipelines.map((pipeline) => pipeline.name));
  const live = await liveGateExceptions(deps.db, [
    GATE_FAILURE_MODE.stale,
    GATE_FAILURE_MODE.over_budget,
  ]);
  let cleared = 0;
  for (const row of live) {
    const detail = detailOf(row.gate);
    if (!detail || detail.kind === "late" || declared.has(detail.pipeline)) continue;
    const done = await clear(deps, row.id, undeclaredSentence(detail.pipeline, version), {
      gate: detail.kind,
      pipeline: detail.pipeline,
      routingVersion: version,
    });
    if (done) cleared++;
  }
  return cleared;
}
