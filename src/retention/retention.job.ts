/**
 * The `retention.prune` job: every RETENTION_SWEEP_MS (a BullMQ job scheduler, once across
 * replicas) each rule prunes in batches until nothing is left or the run's time budget is
 * spent (the next run goes on). Each batch is its own short transaction with a lock timeout,
 * so it never queues behind, or holds up, intake for long.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../platform/db/db.js";
import type { Logger } from "../platform/logger.js";
import { counter, gauge } from "../platform/metrics.js";
import type { JobHandlers } from "../platform/queue/catalog.js";
import type { retentionJobs } from "./retention-jobs.schema.js";
import type { RetentionRule } from "./retention-rules.js";

export const BATCH_SIZE = 5_000;
/** A run stops starting batches after this long; jobs are failed after 2 minutes (worker.ts). */
export const RUN_BUDGET_MS = 60_000;

const pruned = counter(
  "syncdesk_retention_pruned_rows_total",
  "Rows removed (or payloads emptied) by retention, by table.",
  ["table"],
);
const lastRun = gauge(
  "syncdesk_retention_last_run_timestamp_seconds",
  "When this process last finished a retention run (Unix seconds).",
);
const longestBatch = gauge(
  "syncdesk_retention_longest_batch_seconds",
  "The longest batch transaction of the last retention run, by table: the longest lock it held.",
  ["table"],
);

export interface PruneFigures {
  rows: number;
  batches: number;
  longestBatchMs: number;
  /** false: the budget ran out with rows left. */
  done: boolean;
}

export async function pruneRetention(
  deps: { db: Db; logger: Logger; clock?: { now(): Date } },
  rules: RetentionRule[],
  options: {
    batchSize?: number;
    budgetMs?: number;
    onBatch?: (table: string, ms: number) => void;
  } = {},
): Promise<Record<string, PruneFigures>> {
  const started = Date.now();
  // The desk's clock (a test's or a bench's), as the rows' resolved_at were written with it.
  const now = deps.clock?.now() ?? new Date();
  const limit = options.batchSize ?? BATCH_SIZE;
  const budget = options.budgetMs ?? RUN_BUDGET_MS;
  const figures: Record<string, PruneFigures> = {};
  for (const rule of rules) {
    const cutoff = new Date(now.getTime() - rule.keepMs);
    const table: PruneFigures = { rows: 0, batches: 0, longestBatchMs: 0, done: false };
    figures[rule.table] = table;
    while (Date.now() - started < budget) {
      const batchStarted = performance.now();
      const rows = await deps.db.transaction(async (tx) => {
        // Never wait long behind someone else's lock, nor hold ours for long.
        await tx.execute(sql`set local lock_timeout = '1s'`);
        await tx.execute(sql`set local statement_timeout = '30s'`);
        return rule.batch(tx, cutoff, limit);
      });
      const ms = performance.now() - batchStarted;
      options.onBatch?.(rule.table, ms);
      table.batches += 1;
      table.rows += rows;
      table.longestBatchMs = Math.max(table.longestBatchMs, ms);
      if (rows > 0) pruned.inc({ table: rule.table }, rows);
      if (rows < limit) {
        table.done = true;
        break;
      }
    }
    longestBatch.set({ table: rule.table }, table.longestBatchMs / 1000);
  }
  lastRun.setToCurrentTime();
  deps.logger.info({ retention: figures, ms: Date.now() - started }, "retention run");
  return figures;
}

/** The job handler, with the rules the composition root read from RETENTION_* settings. */
export function retentionJobHandlers(
  deps: { db: Db; logger: Logger; clock?: { now(): Date } },
  rules: RetentionRule[],
): JobHandlers<typeof retentionJobs> {
  return { "retention.prune": () => pruneRetention(deps, rules) };
}
