/**
 * The full delta list of a run as a CSV file in the owner's channel (Slack `files.uploadV2`:
 * an upload URL, the bytes, then the share; needs the `files:write` scope). Sent by the job
 * `recon.report-file` after the run committed; the file id is kept on the run, so a job run
 * twice uploads once.
 */

import { sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { deltaRows } from "./compare.repo.js";
import { ownerChannel } from "./owner-channel.js";

/** One CSV field: quoted when it holds a comma, quote or line break; formula starts defused. */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  let text = String(value);
  // A SKU like "=HYPERLINK(…)" must not run as a formula in a spreadsheet.
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** bigint columns arrive as text: numbers again, so the formula guard leaves "-3" alone. */

export const CSV_HEADER = "sku,class,source_quantity,consumer_quantity,delta";

export async function uploadDeltaFile(deps: Deps, runId: number): Promise<string | null> {
  const [run] = await deps.db.execute<{
    client: string;
    system: string;
    source_system: string;
    report_file_id: string | null;
    differing: string;
  }>(sql`
    select client, system, source_system, report_file_id,
      (mismatched + missing + unexpected)::text as differing
    from recon_runs where id = ${runId} and outcome = 'compared'`);
  if (!run || run.report_file_id || Number(run.differing) === 0) return run?.report_file_id ?? null;
  const channel = ownerChannel(deps.routing.current().config, run.client);
  if (!channel) return null;
  const lines = [CSV_HEADER];
  const deltas = await deltaRows(deps.db, runId, { order: "sku" });
  for (const d of deltas) {
    lines.push(
      [d.sku, d.class, d.sourceQuantity, d.consumerQuantity, d.delta].map(csvField).join(","),
    );
  }
  const filename = `recon-${runId}-${run.client}-${run.system}.csv`.replace(
    /[^A-Za-z0-9._-]/g,
    "_",
  );
  const result = (await deps.slack.files.uploadV2({
    channel_id: channel,
    filename,
    title: `Reconciliation #${runId}: ${run.client} ${run.system} vs ${run.source_system} (${deltas.length} deltas)`,
    file: Buffer.from(`${lines.join("\n")}\n`, "utf8"),
    initial_comment: `Full delta list of reconciliation #${runId} (${deltas.length} SKUs).`,
  })) as { files?: { files?: { id?: string }[] }[] };
  const fileId = result.files?.[0]?.files?.[0]?.id ?? "uploaded";
  await deps.db.execute(sql`update recon_runs set report_file_id = ${fileId} where id = ${runId}`);
  return fileId;
}
