/**
 * A run's delta report for the client's owner: counts per class and the 20 largest deltas
 * (Block Kit, pure), queued in the run's transaction; the full delta list follows as a CSV file
 * (src/recon/report-file.ts).
 */
import type { Deps } from "../app/deps.js";
import type { Tx } from "../platform/db/db.js";
import { escapeMrkdwn, safeText } from "../platform/slack/mrkdwn.js";
import { queueMessage } from "../platform/slack/outbox-message.js";
import { type DeltaRow, largestDeltas } from "./compare.repo.js";
import { ownerChannel } from "./owner-channel.js";
import type { RunSummary } from "./run-summary.js";

export const TOP_DELTAS = 20;

const CLASS_WORDS: Record<DeltaRow["class"], string> = {
  mismatch: "quantity mismatch",
  missing: "missing in consumer",
  unexpected: "unexpected in consumer",
};

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
const qty = (n: number | null) => (n === null ? "—" : String(n));

export function renderRunReport(
  run: RunSummary,
  top: DeltaRow[],
): { text: string; blocks: object[] } {
  const title = `Reconciliation #${run.runId} · ${run.client} · ${run.system} vs ${run.sourceSystem}`;
  if (run.outcome === "skipped") {
    const text = `:grey_question: ${escapeMrkdwn(title)}: nothing compared: ${safeText(run.reason ?? "", 500)}`;
    return { text, blocks: [{ type: "section", text: { type: "mrkdwn", text } }] };
  }
  const differing = run.mismatched + run.missing + run.unexpected;
  const icon = differing === 0 ? ":white_check_mark:" : ":bar_chart:";
  const counts = [
    `*${run.matched}* matched`,
    `*${run.mismatched}* quantity mismatch`,
    `*${run.missing}* missing in ${escapeMrkdwn(run.system)}`,
    `*${run.unexpected}* unexpected in ${escapeMrkdwn(run.system)}`,
  ].join(" · ");
  const text = `${icon} ${escapeMrkdwn(title)}: ${differing} SKU${differing === 1 ? "" : "s"} differ (sum of |delta| ${run.absDeltaSum})`;
  const blocks: object[] = [
    { type: "section", text: { type: "mrkdwn", text: `${text}\n${counts}` } },
  ];
  if (top.length > 0) {
    const lines = top.map(
      (d) =>
        `\`${safeText(d.sku, 80)}\` ${CLASS_WORDS[d.class]}: source ${qty(d.sourceQuantity)}, consumer ${qty(d.consumerQuantity)} (${signed(d.delta)})`,
    );
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: `*${Math.min(top.length, TOP_DELTAS)} largest deltas*\n${lines.join("\n")}`.slice(
          0,
          3000,
        ),
      },
    });
  }
  blocks.push({
    type: "context",
    elements: [
      {
        type: "mrkdwn",
        text: `Compared in ${run.compareMs} ms · delta hash \`${run.deltaHash.slice(0, 16)}\` · ${differing > 0 ? "the full list follows as a CSV file · " : ""}\`/inventory recon ${escapeMrkdwn(run.client)}\` lists the latest runs`,
      },
    ],
  });
  return { text: text.slice(0, 3000), blocks };
}

/** Queues the report in the run's transaction: it goes out once, after the commit. */
export async function queueRunReport(tx: Tx, deps: Deps, run: RunSummary): Promise<void> {
  const channel = ownerChannel(deps.routing.current().config, run.client);
  if (!channel) return;
  const top = run.outcome === "compared" ? await largestDeltas(tx, run.runId, TOP_DELTAS) : [];
  await queueMessage(tx, {
    lane: `recon-${run.client}`,
    channel,
    dedupeKey: `recon-run-${run.runId}-report`,
    ...renderRunReport(run, top),
  });
}
