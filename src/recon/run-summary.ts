/** What one reconciliation run found, as reports and commands show it. Types only. */
import type { CompareResult } from "./compare.repo.js";

export interface RunSummary extends CompareResult {
  runId: number;
  client: string;
  /** The consumer compared ("*" when a run found no consumer at all). */
  system: string;
  sourceSystem: string;
  outcome: "compared" | "skipped";
  reason: string | null;
  compareMs: number;
}
