/** Reads what `/inventory pipelines` and the Freshness section show; the judging is pure. */
import type { Deps } from "../app/deps.js";
import {
  type DeliveryWindow,
  deliveryTotals,
  type FigureFilter,
  lastDeliveries,
  remediation,
} from "./figures.repo.js";
import { buildPipelineReports, type PipelineReport } from "./pipeline-report.js";

const DAY_MS = 86_400_000;
/** How far back "last delivery" looks: a pipeline silent for longer shows none. */
const LAST_DELIVERY_LOOKBACK_MS = 30 * DAY_MS;

export async function pipelineReports(
  deps: Pick<Deps, "db" | "clock" | "routing">,
  args: { windowMs: number; client?: string },
): Promise<PipelineReport[]> {
  // With a client filter, the pipeline's own last delivery would say more than the client's.
  const lastDelivered =
    args.client === undefined
      ? lastDeliveries(deps.db, deps.clock.now(), LAST_DELIVERY_LOOKBACK_MS)
      : Promise.resolve(new Map<string, Date>());
  return reportsOver(deps, { windowMs: args.windowMs, filter: args }, lastDelivered);
}

async function reportsOver(
  deps: Pick<Deps, "db" | "clock" | "routing">,
  args: { windowMs: number; filter: FigureFilter },
  lastDelivered: Promise<Map<string, Date>>,
): Promise<PipelineReport[]> {
  const now = deps.clock.now();
  const window: DeliveryWindow = { now, ms: args.windowMs };
  const [totals, remediated, last] = await Promise.all([
    deliveryTotals(deps.db, window, args.filter),
    remediation(deps.db, window, args.filter),
    lastDelivered,
  ]);
  return buildPipelineReports({
    config: deps.routing.current().config,
    totals,
    remediation: remediated,
    lastDelivered: last,
    now,
  });
}

export const PIPELINE_WINDOWS = [
  { label: "1h", ms: 3_600_000 },
  { label: "24h", ms: DAY_MS },
  { label: "7d", ms: 7 * DAY_MS },
  { label: "30d", ms: 30 * DAY_MS },
] as const;

/** One pipeline over 1h, 24h, 7d and 30d. */
export async function pipelineWindows(
  deps: Pick<Deps, "db" | "clock" | "routing">,
  name: string,
): Promise<{ label: string; report: PipelineReport }[]> {
  // Only this pipeline's figure rows, and its last delivery read once for the four windows.
  const lastDelivered = lastDeliveries(deps.db, deps.clock.now(), LAST_DELIVERY_LOOKBACK_MS, name);
  const all = await Promise.all(
    PIPELINE_WINDOWS.map((window) =>
      reportsOver(deps, { windowMs: window.ms, filter: { pipeline: name } }, lastDelivered),
    ),
  );
  return PIPELINE_WINDOWS.flatMap((window, i) => {
    const report = all[i]?.find((r) => r.name === name);
    return report ? [{ label: window.label, report }] : [];
  });
}
