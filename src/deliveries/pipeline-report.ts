/**
 * What an owner reads about each pipeline: deliveries, failures, failed-delivery rate,
 * time-to-sync P50/P95/max (from the merged sketches), mean time to remediate, last delivery,
 * and whether it is stale or over its budget; worst first. Pure.
 */

import { pipelineFor } from "../routing/evaluate.js";
import type { PipelineConfig, RoutingConfig } from "../routing/routing-file.schema.js";
import { businessTimeBetween } from "../sla/business-time.js";
import { noDeliveries } from "./aggregate.js";
import { NO_PIPELINE } from "./delivery.js";
import type { FigureTotals, RemediationRow } from "./figures.repo.js";
import { mergeInto, quantile, type Sketch } from "./sketch.js";

export interface Figures {
  deliveries: number;
  failures: number;
  /** failures / (deliveries + failures); null with neither. */
  failedRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
  timed: number;
  clamped: number;
  duplicates: number;
  lastDeliveredAt: Date | null;
  /** Mean of resolvedAt − createdAt of the exceptions resolved in the window. */
  mttrMs: number | null;
  resolved: number;
}

export interface PipelineReport {
  /** "" for deliveries no pipeline takes. */
  name: string;
  config: PipelineConfig | null;
  figures: Figures;
  /** Per client and target, most deliveries first. */
  parts: { client: string; targetSystem: string; figures: Figures }[];
  /** No successful delivery within its freshness (null: no pipeline, no freshness). */
  stale: boolean | null;
  /** Time-to-sync P95 above its budget. */
  overBudget: boolean;
}

interface Acc {
  totals: Omit<FigureTotals, "pipeline" | "client" | "targetSystem">;
  resolved: number;
  remediationMs: number;
}

const emptyAcc = (): Acc => ({
  totals: { ...noDeliveries(), lastDeliveredAt: null },
  resolved: 0,
  remediationMs: 0,
});

function add(acc: Acc, row: FigureTotals): void {
  const t = acc.totals;
  t.deliveries += row.deliveries;
  t.failures += row.failures;
  t.clamped += row.clamped;
  t.duplicates += row.duplicates;
  t.timed += row.timed;
  t.sumMs += row.sumMs;
  if (row.maxMs !== null) t.maxMs = Math.max(t.maxMs ?? 0, row.maxMs);
  if (row.lastDeliveredAt && (!t.lastDeliveredAt || row.lastDeliveredAt > t.lastDeliveredAt))
    t.lastDeliveredAt = row.lastDeliveredAt;
  mergeInto(t.sketch as Sketch, row.sketch);
}

function figuresOf(acc: Acc): Figures {
  const t = acc.totals;
  const attempts = t.deliveries + t.failures;
  return {
    deliveries: t.deliveries,
    failures: t.failures,
    failedRate: attempts === 0 ? null : t.failures / attempts,
    p50Ms: quantile(t.sketch, 0.5),
    p95Ms: quantile(t.sketch, 0.95),
    maxMs: t.maxMs,
    timed: t.timed,
    clamped: t.clamped,
    duplicates: t.duplicates,
    lastDeliveredAt: t.lastDeliveredAt,
    mttrMs: acc.resolved === 0 ? null : acc.remediationMs / acc.resolved,
    resolved: acc.resolved,
  };
}

export function buildPipelineReports(input: {
  config: Pick<RoutingConfig, "pipelines">;
  totals: readonly FigureTotals[];
  remediation: readonly RemediationRow[];
  /** Latest successful delivery per pipeline over the freshness lookback. */
  lastDelivered: ReadonlyMap<string, Date>;
  now: Date;
}): PipelineReport[] {
  const { config, now } = input;
  const pipelines = new Map<
    string,
    { acc: Acc; parts: Map<string, Acc & { client: string; targetSystem: string }> }
  >();
  const entry = (name: string) => {
    let found = pipelines.get(name);
    if (!found) {
      found = { acc: emptyAcc(), parts: new Map() };
      pipelines.set(name, found);
    }
    return found;
  };
  // Every declared pipeline is listed, with or without deliveries: silence is a finding.
  for (const pipeline of config.pipelines) entry(pipeline.name);
  for (const row of input.totals) {
    const pipeline = entry(row.pipeline);
    add(pipeline.acc, row);
    const partKey = `${row.client}\u0000${row.targetSystem}`;
    let part = pipeline.parts.get(partKey);
    if (!part) {
      part = { ...emptyAcc(), client: row.client, targetSystem: row.targetSystem };
      pipeline.parts.set(partKey, part);
    }
    add(part, row);
  }
  for (const row of input.remediation) {
    const name = pipelineFor(config, row)?.name ?? NO_PIPELINE;
    // Remediation of a route no delivery was reported for still counts for its pipeline.
    if (name === NO_PIPELINE && !pipelines.has(NO_PIPELINE)) continue;
    const pipeline = entry(name);
    pipeline.acc.resolved += row.resolved;
    pipeline.acc.remediationMs += row.totalMs;
    const part = pipeline.parts.get(`${row.client}\u0000${row.targetSystem}`);
    if (part) {
      part.resolved += row.resolved;
      part.remediationMs += row.totalMs;
    }
  }
  const byName = new Map(config.pipelines.map((p) => [p.name, p]));
  const reports = [...pipelines.entries()].map(([name, { acc, parts }]): PipelineReport => {
    const pipeline = byName.get(name) ?? null;
    const figures = figuresOf(acc);
    const last = input.lastDelivered.get(name) ?? figures.lastDeliveredAt;
    return {
      name,
      config: pipeline,
      figures: { ...figures, lastDeliveredAt: last ?? null },
      parts: [...parts.values()]
        .map((part) => ({
          client: part.client,
          targetSystem: part.targetSystem,
          figures: figuresOf(part),
        }))
        .sort((a, b) => b.figures.deliveries - a.figures.deliveries),
      // Freshness counts only inside the pipeline's hours, as its stale gate does.
      stale: pipeline
        ? !last ||
          businessTimeBetween(last.getTime(), now.getTime(), pipeline.hours, pipeline.timezone) >
            pipeline.freshnessMs
        : null,
      overBudget: pipeline !== null && figures.p95Ms !== null && figures.p95Ms > pipeline.budgetMs,
    };
  });
  return reports.sort(worstFirst);
}

/** Stale first, then over budget, then by how far P95 is into its budget, then failures. */
export function worstFirst(a: PipelineReport, b: PipelineReport): number {
  const rank = (r: PipelineReport) => (r.stale ? 2 : 0) + (r.overBudget ? 1 : 0);
  const load = (r: PipelineReport) =>
    r.config && r.figures.p95Ms !== null ? r.figures.p95Ms / r.config.budgetMs : 0;
  return (
    rank(b) - rank(a) ||
    load(b) - load(a) ||
    (b.figures.failedRate ?? 0) - (a.figures.failedRate ?? 0) ||
    Number(a.name === NO_PIPELINE) - Number(b.name === NO_PIPELINE) ||
    a.name.localeCompare(b.name)
  );
}
