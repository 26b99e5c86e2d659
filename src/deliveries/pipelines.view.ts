/**
 * `/inventory pipelines` and the *Freshness* section of `/inventory status`, as Block Kit.
 * Pure; pipeline, client and target names are producer text and are escaped here.
 */
import { formatDuration, formatPercent } from "../inventory/figures.js";
import { safeText, slackDate, truncate } from "../platform/slack/mrkdwn.js";
import { pipelineValues } from "../routing/diff.js";
import { NO_PIPELINE } from "./delivery.js";
import type { Figures, PipelineReport } from "./pipeline-report.js";

export interface Message {
  text: string;
  blocks: object[];
}

const MAX_PIPELINES = 40;
const MAX_PARTS = 10;

const section = (text: string): object => ({
  type: "section",
  text: { type: "mrkdwn", text: truncate(text, 3000) },
});
const context = (text: string): object => ({
  type: "context",
  elements: [{ type: "mrkdwn", text: truncate(text, 3000) }],
});
const header = (text: string): object => ({
  type: "header",
  text: { type: "plain_text", text: truncate(text, 150), emoji: true },
});

/** Time-to-sync for people: 340ms, 4.2s, 3m 05s, 1h 05m. */
export function formatLatency(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(Math.round(ms / 100) / 10).toFixed(1)}s`;
  if (ms < 3_600_000) {
    const seconds = Math.round(ms / 1000);
    return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s`;
  }
  return formatDuration(ms);
}

export const pipelineName = (name: string) =>
  name === NO_PIPELINE ? "_no pipeline_" : `*${safeText(name, 100)}*`;

function statusIcon(report: PipelineReport): string {
  if (report.stale) return ":red_circle:";
  if (report.overBudget) return ":large_orange_circle:";
  if ((report.figures.failedRate ?? 0) > 0) return ":large_yellow_circle:";
  return report.config ? ":large_green_circle:" : ":white_circle:";
}

function verdict(report: PipelineReport, now: Date): string {
  const { config, figures } = report;
  if (!config) return "";
  const parts: string[] = [];
  if (report.stale) {
    parts.push(
      figures.lastDeliveredAt
        ? `*stale*: no delivery for ${formatDuration(now.getTime() - figures.lastDeliveredAt.getTime())} (freshness ${formatDuration(config.freshnessMs)})`
        : `*stale*: no delivery seen (freshness ${formatDuration(config.freshnessMs)})`,
    );
  }
  if (report.overBudget) parts.push(`*over budget*: P95 above ${formatDuration(config.budgetMs)}`);
  return parts.length ? ` · ${parts.join(" · ")}` : "";
}

export function figureLine(figures: Figures): string {
  const rate = figures.failedRate === null ? "" : ` (${formatPercent(figures.failedRate)} failed)`;
  const timing =
    figures.timed === 0
      ? "time-to-sync –"
      : `time-to-sync P50 ${formatLatency(figures.p50Ms)} · P95 ${formatLatency(figures.p95Ms)} · max ${formatLatency(figures.maxMs)}`;
  const mttr =
    figures.mttrMs === null
      ? ""
      : ` · MTTR ${formatDuration(figures.mttrMs)} (${figures.resolved})`;
  return `${figures.deliveries.toLocaleString("en-US")} delivered · ${figures.failures.toLocaleString("en-US")} failed${rate} · ${timing}${mttr}`;
}

function pipelineBlock(report: PipelineReport, now: Date): object {
  const { config, figures } = report;
  const declared = config
    ? (() => {
        const v = pipelineValues(config);
        return `budget ${v.budget} · freshness ${v.freshness} · hours ${safeText(String(v.hours), 60)} · owner ${safeText(config.role, 64)}`;
      })()
    : "deliveries no declared pipeline takes";
  const last = figures.lastDeliveredAt
    ? `last delivery ${slackDate(figures.lastDeliveredAt)}`
    : "no delivery seen";
  const skew = figures.clamped ? ` · ${figures.clamped} clock-skewed (timed as 0)` : "";
  const dupes = figures.duplicates ? ` · ${figures.duplicates} duplicates suppressed` : "";
  return section(
    `${statusIcon(report)} ${pipelineName(report.name)}${verdict(report, now)}\n${figureLine(figures)}\n_${declared} · ${last}${skew}${dupes}_`,
  );
}

/** `/inventory pipelines [client] [window]`: every pipeline, worst first. */
export function renderPipelines(
  reports: PipelineReport[],
  options: { windowLabel: string; now: Date; client?: string },
): Message {
  const scope = options.client ? ` · ${options.client}` : "";
  const blocks: object[] = [header(`Pipelines${scope} · last ${options.windowLabel}`)];
  if (reports.length === 0) {
    blocks.push(
      section(
        "No pipelines are declared and no deliveries were reported. Declare them under `pipelines:` in the routing file; producers report deliveries on the outcomes queue (`sync.succeeded`, `sync.batch`).",
      ),
    );
  }
  for (const report of reports.slice(0, MAX_PIPELINES))
    blocks.push(pipelineBlock(report, options.now));
  if (reports.length > MAX_PIPELINES)
    blocks.push(context(`…and ${reports.length - MAX_PIPELINES} more pipelines.`));
  blocks.push(
    context(
      "Time-to-sync is triggeredAt → delivered, within 1% (merged sketches). Failed rate = failures / (deliveries + failures). MTTR: exceptions resolved in the window, opened → resolved. `/inventory pipelines <name>` shows one pipeline over 1h, 24h, 7d and 30d.",
    ),
  );
  const stale = reports.filter((r) => r.stale).length;
  const over = reports.filter((r) => r.overBudget).length;
  const text = `Pipelines (last ${options.windowLabel}): ${reports.length} listed, ${stale} stale, ${over} over budget.`;
  return { text: safeText(text, 3000), blocks };
}

/** `/inventory pipelines <name>`: one pipeline over each window, and per client and target. */
export function renderPipeline(
  windows: { label: string; report: PipelineReport }[],
  now: Date,
): Message {
  const latest = windows[windows.length - 1]?.report ?? windows[0]?.report;
  const name = latest?.name ?? "";
  const blocks: object[] = [header(`Pipeline ${name || "(none)"}`)];
  if (latest) blocks.push(pipelineBlock(windows[0]?.report ?? latest, now));
  blocks.push(
    section(
      windows.map(({ label, report }) => `*${label}*: ${figureLine(report.figures)}`).join("\n"),
    ),
  );
  const widest = windows[windows.length - 1]?.report;
  if (widest && widest.parts.length > 0) {
    const lines = widest.parts
      .slice(0, MAX_PARTS)
      .map(
        (part) =>
          `• ${safeText(part.client, 100)} → ${safeText(part.targetSystem, 100)}: ${figureLine(part.figures)}`,
      );
    if (widest.parts.length > MAX_PARTS) lines.push(`…and ${widest.parts.length - MAX_PARTS} more`);
    blocks.push(
      section(
        `*Per client and target (${windows[windows.length - 1]?.label})*\n${lines.join("\n")}`,
      ),
    );
  }
  const text = `Pipeline ${name}: ${windows.map(({ label, report }) => `${label} ${report.figures.deliveries} delivered, ${report.figures.failures} failed`).join("; ")}`;
  return { text: safeText(text, 3000), blocks };
}

/** The *Freshness* section of `/inventory status`: worst pipelines first. */
export function freshnessBlocks(
  reports: PipelineReport[],
  now: Date,
  limit = 8,
  window = "last 24h",
): object[] {
  const declared = reports.filter((report) => report.config !== null);
  if (declared.length === 0) {
    return [
      section(
        "*Freshness*\nNo pipelines declared: add `pipelines:` to the routing file to see time-to-sync and stale pipelines here.",
      ),
    ];
  }
  const lines = declared.slice(0, limit).map((report) => {
    const { figures } = report;
    return `${statusIcon(report)} ${pipelineName(report.name)}${verdict(report, now)}\n   ${figureLine(figures)}`;
  });
  if (declared.length > limit)
    lines.push(`…and ${declared.length - limit} more: \`/inventory pipelines\``);
  return [section(truncate(`*Freshness* (${window}, worst first)\n${lines.join("\n")}`, 3000))];
}
