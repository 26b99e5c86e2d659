/**
 * Reconciliation runs: for one client, each consumer's latest complete snapshot against the
 * latest complete snapshot of its source of truth taken within RECON_WINDOW of it. Each run is
 * one transaction: the run row, the compare (deltas stored), the evidence in the audit log and
 * the owner's report in the Slack outbox. Runs of one client take turns (an advisory lock), so
 * a pair completed by two snapshots at once is compared once.
 */
import { sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { recordAudit } from "../audit/audit.js";
import type { Tx } from "../platform/db/db.js";
import { reconRuns } from "../platform/db/schema.js";
import { formatDuration } from "../platform/duration.js";
import { clientSourceOfTruth } from "../routing/source-of-truth.js";
import {
  type CompareResult,
  compareSnapshots,
  latestSnapshot,
  latestSnapshotNear,
  type SnapshotFacts,
  snapshotByKey,
  systemsWithSnapshots,
} from "./compare.repo.js";
import { queueRunReport } from "./report.js";
import type { RunSummary } from "./run-summary.js";

export type { RunSummary };

export type ReconcileResult =
  | { ok: true; runs: RunSummary[] }
  | { ok: false; reason: "unknown_client" | "no_source_of_truth" };

const NOTHING: CompareResult = {
  matched: 0,
  mismatched: 0,
  missing: 0,
  unexpected: 0,
  absDeltaSum: 0,
  deltaHash: "",
};

/**
 * Reconciles every consumer of `client` (or only `systems`). `startedBy` is a Slack user id,
 * `schedule` or `snapshot`; a snapshot-started run records nothing when a pair is not there yet
 * and never compares the same pair twice.
 */
export async function reconcileClient(
  deps: Deps,
  input: { client: string; startedBy: string; systems?: string[] },
): Promise<ReconcileResult> {
  const { config, version } = deps.routing.current();
  const settings = config.clients[input.client];
  if (!settings) return { ok: false, reason: "unknown_client" };
  const systems = input.systems ?? (await systemsWithSnapshots(deps.db, input.client));
  const consumers = systems.flatMap((system) => {
    const truth = clientSourceOfTruth(config, input.client, system);
    return truth && truth !== system ? [{ system, truth }] : [];
  });
  if (
    consumers.length === 0 &&
    settings.sourceOfTruth.default === null &&
    settings.sourceOfTruth.byTarget.length === 0
  )
    return { ok: false, reason: "no_source_of_truth" };
  const bySnapshot = input.startedBy === "snapshot";
  const runs: RunSummary[] = [];
  if (consumers.length === 0 && !bySnapshot) {
    runs.push(
      await recordSkipped(deps, {
        client: input.client,
        system: "*",
        sourceSystem: settings.sourceOfTruth.default ?? "*",
        startedBy: input.startedBy,
        reason: "no complete snapshot of any consumer yet",
        routingVersion: version,
      }),
    );
  }
  for (const { system, truth } of consumers) {
    const consumer = await latestSnapshot(deps.db, input.client, system);
    const source =
      consumer &&
      (await latestSnapshotNear(
        deps.db,
        input.client,
        truth,
        consumer.takenAt,
        deps.recon.windowMs,
      ));
    if (!consumer || !source) {
      if (bySnapshot) continue;
      runs.push(
        await recordSkipped(deps, {
          client: input.client,
          system,
          sourceSystem: truth,
          startedBy: input.startedBy,
          reason: consumer
            ? `no complete snapshot of ${truth} taken within ${formatDuration(deps.recon.windowMs)} of ${system}'s (${consumer.takenAt.toISOString()})`
            : `no complete snapshot of ${system}`,
          routingVersion: version,
        }),
      );
      continue;
    }
    const run = await runPair(deps, {
      client: input.client,
      startedBy: input.startedBy,
      source,
      consumer,
      tolerance: settings.tolerance,
      routingVersion: version,
      onlyOnce: bySnapshot,
    });
    if (run) runs.push(run);
  }
  return { ok: true, runs };
}

/** A completed snapshot: reconcile the pairs it completes (as consumer, or as source). */
export async function reconcileSnapshot(deps: Deps, snapshotKey: number): Promise<RunSummary[]> {
  const snapshot = await snapshotByKey(deps.db, snapshotKey);
  if (snapshot?.state !== "complete") return [];
  const { config } = deps.routing.current();
  const truth = clientSourceOfTruth(config, snapshot.client, snapshot.system);
  const systems =
    truth && truth !== snapshot.system
      ? [snapshot.system]
      : (await systemsWithSnapshots(deps.db, snapshot.client)).filter(
          (system) => clientSourceOfTruth(config, snapshot.client, system) === snapshot.system,
        );
  const result = await reconcileClient(deps, {
    client: snapshot.client,
    startedBy: "snapshot",
    systems,
  });
  return result.ok ? result.runs : [];
}

type RunRow = Record<string, string | number | null>;
const RUN_FIELDS = sql`id, client, system, source_system, outcome, reason, compare_ms, matched,
  mismatched, missing, unexpected, abs_delta_sum, delta_hash`;
const summaryOf = (row: RunRow): RunSummary => ({
  runId: Number(row.id),
  client: String(row.client),
  system: String(row.system),
  sourceSystem: String(row.source_system),
  outcome: row.outcome === "skipped" ? "skipped" : "compared",
  reason: row.reason === null ? null : String(row.reason),
  compareMs: Number(row.compare_ms ?? 0),
  matched: Number(row.matched),
  mismatched: Number(row.mismatched),
  missing: Number(row.missing),
  unexpected: Number(row.unexpected),
  absDeltaSum: Number(row.abs_delta_sum),
  deltaHash: String(row.delta_hash ?? ""),
});

async function lockClient(tx: Tx, client: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`recon:${client}`}, 0))`);
}

function snapshotEvidence(snapshot: SnapshotFacts) {
  return {
    id: snapshot.id,
    system: snapshot.system,
    takenAt: snapshot.takenAt.toISOString(),
    itemCount: snapshot.itemCount,
    skuCount: snapshot.skuCount,
    contentHash: snapshot.contentHash,
  };
}

async function runPair(
  deps: Deps,
  input: {
    client: string;
    startedBy: string;
    source: SnapshotFacts;
    consumer: SnapshotFacts;
    tolerance: number;
    routingVersion: number | null;
    onlyOnce: boolean;
  },
): Promise<RunSummary | null> {
  return deps.db.transaction(async (tx) => {
    await lockClient(tx, input.client);
    if (input.onlyOnce) {
      // A job run again after its run committed: the same run, so its file job is still added.
      const [done] = await tx.execute<RunRow>(sql`
        select ${RUN_FIELDS} from recon_runs
        where source_snapshot_key = ${input.source.key} and consumer_snapshot_key = ${input.consumer.key}
          and started_by = 'snapshot'`);
      if (done) return summaryOf(done);
    }
    const startedAt = deps.clock.now();
    const [run] = await tx
      .insert(reconRuns)
      .values({
        client: input.client,
        system: input.consumer.system,
        sourceSystem: input.source.system,
        outcome: "compared",
        startedBy: input.startedBy,
        sourceSnapshotKey: input.source.key,
        consumerSnapshotKey: input.consumer.key,
        routingVersion: input.routingVersion,
        tolerance: input.tolerance,
        startedAt,
      })
      .returning({ id: reconRuns.id });
    if (!run) throw new Error("no run row");
    const began = performance.now();
    const result = await compareSnapshots(tx, {
      runId: run.id,
      source: input.source,
      consumer: input.consumer,
      tolerance: input.tolerance,
    });
    const compareMs = Math.round(performance.now() - began);
    const evidence = {
      startedBy: input.startedBy,
      client: input.client,
      source: snapshotEvidence(input.source),
      consumer: snapshotEvidence(input.consumer),
      routingVersion: input.routingVersion,
      tolerance: input.tolerance,
      windowMs: deps.recon.windowMs,
      counts: {
        matched: result.matched,
        mismatch: result.mismatched,
        missing: result.missing,
        unexpected: result.unexpected,
      },
      absDeltaSum: result.absDeltaSum,
      deltaHash: result.deltaHash,
    };
    await tx.execute(sql`
      update recon_runs set matched = ${result.matched}, mismatched = ${result.mismatched},
        missing = ${result.missing}, unexpected = ${result.unexpected},
        abs_delta_sum = ${result.absDeltaSum}, delta_hash = ${result.deltaHash},
        evidence = ${JSON.stringify(evidence)}::jsonb, compare_ms = ${compareMs}
      where id = ${run.id}`);
    await recordAudit(tx, {
      actor: input.startedBy,
      source: "recon",
      action: "recon.run",
      note: `${input.client}: ${input.consumer.system} against ${input.source.system}`,
      details: { runId: run.id, ...evidence },
      at: startedAt,
    });
    const summary: RunSummary = {
      runId: run.id,
      client: input.client,
      system: input.consumer.system,
      sourceSystem: input.source.system,
      outcome: "compared",
      reason: null,
      compareMs,
      ...result,
    };
    await queueRunReport(tx, deps, summary);
    return summary;
  });
}

async function recordSkipped(
  deps: Deps,
  input: {
    client: string;
    system: string;
    sourceSystem: string;
    startedBy: string;
    reason: string;
    routingVersion: number | null;
  },
): Promise<RunSummary> {
  return deps.db.transaction(async (tx) => {
    const startedAt = deps.clock.now();
    const evidence = { ...input, outcome: "skipped" };
    const [run] = await tx
      .insert(reconRuns)
      .values({ ...input, outcome: "skipped", evidence, startedAt })
      .returning({ id: reconRuns.id });
    if (!run) throw new Error("no run row");
    await recordAudit(tx, {
      actor: input.startedBy,
      source: "recon",
      action: "recon.skipped",
      note: `${input.client}: ${input.reason}`,
      details: { runId: run.id, ...evidence },
      at: startedAt,
    });
    const summary: RunSummary = {
      runId: run.id,
      client: input.client,
      system: input.system,
      sourceSystem: input.sourceSystem,
      outcome: "skipped",
      reason: input.reason,
      compareMs: 0,
      ...NOTHING,
    };
    await queueRunReport(tx, deps, summary);
    return summary;
  });
}
