/**
 * The worker side of the snapshot queue (`inventory-snapshots`, jobs `snapshot.part`): each
 * part is parsed with the producers' own contract, loaded (src/recon/snapshot-intake.repo.ts),
 * and a refusal is kept with its reason and told to the client's owner. A snapshot that
 * completes asks for the reconciliation of its pair. Jobs are at-least-once: a part run twice
 * finds its row and changes nothing.
 */
import { sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { snapshotPartSchema } from "../platform/contracts/snapshot-part.schema.js";
import type { Db } from "../platform/db/db.js";
import { formatDuration } from "../platform/duration.js";
import { queueMessage } from "../platform/slack/outbox-message.js";
import { ownerChannel } from "./owner-channel.js";
import { type SnapshotProblem, snapshotRejectionMessage } from "./recon.messages.js";
import { enqueueRecon } from "./recon-jobs.schema.js";
import { expireSnapshots, loadSnapshotPart, rejectSnapshot } from "./snapshot-intake.repo.js";

export type SnapshotJobResult = "loaded" | "complete" | "redelivered" | "rejected";

export async function handleSnapshotJob(
  deps: Deps,
  job: { id: string; data: unknown },
): Promise<SnapshotJobResult> {
  const parsed = snapshotPartSchema.safeParse(job.data);
  if (!parsed.success) {
    const raw = isRecord(job.data) ? job.data : {};
    const header = {
      snapshotId: typeof raw.snapshotId === "string" ? raw.snapshotId : null,
      client: typeof raw.client === "string" ? raw.client : null,
      system: typeof raw.system === "string" ? raw.system : null,
      part: typeof raw.part === "number" && Number.isInteger(raw.part) ? raw.part : null,
    };
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join(".") || "(part)"} ${issue.message}`);
    if (parsed.error.issues.length > 5) issues.push(`${parsed.error.issues.length - 5} more`);
    // Whatever else arrives for it, a snapshot with a bad part is never complete.
    if (header.snapshotId) {
      await rejectSnapshot(deps.db, header.snapshotId, `a part broke the contract: ${issues[0]}`);
    }
    await recordRejection(deps, {
      ...header,
      jobId: job.id,
      problem: { code: "contract", issues },
    });
    return "rejected";
  }
  const part = parsed.data;
  const outcome = await loadSnapshotPart(deps.db, part, deps.clock.now());
  switch (outcome.kind) {
    case "redelivered":
      return "redelivered";
    case "rejected":
      await recordRejection(deps, {
        snapshotId: part.snapshotId,
        client: part.client,
        system: part.system,
        part: part.part,
        jobId: job.id,
        problem: outcome.problem,
        // Parts arriving for a snapshot refused already are kept, not announced again.
        notify: outcome.problem.code !== "closed",
      });
      return "rejected";
    case "loaded":
      if (!outcome.complete) return "loaded";
      deps.logger.info(
        { snapshotId: part.snapshotId, client: part.client, system: part.system },
        "snapshot complete",
      );
      await enqueueRecon(deps.queues, "recon.snapshot", {
        client: part.client,
        snapshotKey: outcome.snapshotKey,
      });
      return "complete";
  }
}

/** Keeps the refusal with its reason and tells the client's owner (once per snapshot). */
async function recordRejection(
  deps: Deps,
  input: {
    snapshotId: string | null;
    client: string | null;
    system: string | null;
    part: number | null;
    jobId: string | null;
    problem: SnapshotProblem;
    notify?: boolean;
  },
): Promise<void> {
  const message = snapshotRejectionMessage(input);
  const channel = ownerChannel(deps.routing.current().config, input.client);
  await deps.db.transaction(async (tx) => {
    await tx.execute(sql`
      insert into snapshot_rejections (snapshot_id, client, system, part, reason, detail, job_id, received_at)
      values (${input.snapshotId}, ${input.client}, ${input.system}, ${input.part},
              ${input.problem.code}, ${message.text}, ${input.jobId},
              ${deps.clock.now().toISOString()}::timestamptz)`);
    if (input.notify === false || !channel) return;
    await queueMessage(tx, {
      lane: `snapshot-rejections-${input.client ?? "unknown"}`,
      channel,
      dedupeKey: input.snapshotId
        ? `snapshot-refused-${input.snapshotId}`
        : `snapshot-refused-job-${input.jobId}`,
      ...message,
    });
  });
}

/** Expires snapshots not whole within the window of their first part, each told to its owner. */
export async function expireStaleSnapshots(deps: Deps): Promise<number> {
  const windowMs = deps.recon.windowMs;
  const window = formatDuration(windowMs);
  const expired = await expireSnapshots(
    deps.db,
    new Date(deps.clock.now().getTime() - windowMs),
    `not whole within ${window} of its first part`,
  );
  for (const snapshot of expired) {
    await recordRejection(deps, {
      snapshotId: snapshot.id,
      client: snapshot.client,
      system: snapshot.system,
      part: null,
      jobId: null,
      problem: {
        code: "expired",
        partsReceived: snapshot.partsReceived,
        parts: snapshot.parts,
        window,
      },
    });
  }
  return expired.length;
}

/** The refusals of the last `limit`, newest first (for `/inventory recon`). */
export async function latestRejections(db: Db, client: string | null, limit: number) {
  return db.execute<{ snapshot_id: string | null; detail: string; received_at: string }>(sql`
    select snapshot_id, detail, received_at from snapshot_rejections
    where ${client}::text is null or client = ${client}
    order by id desc limit ${limit}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
