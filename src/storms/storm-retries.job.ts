/**
 * Retry all, in the background: lists the members the actor may retry now and queues their
 * retries, each delayed one interval more than the one before, so the producer's queue (and
 * the system behind it) gets a steady trickle instead of thousands at once. Deterministic job
 * ids (member and retry number) make a rerun of this job queue nothing twice.
 */
import { and, asc, eq, lte, ne, sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { standingIn } from "../exceptions/authorization.js";
import { type Refusal, transition } from "../exceptions/state-machine.js";
import { exceptions } from "../platform/db/schema.js";
import { jobOptions } from "../platform/queue/catalog.js";
import { queueStormNote } from "./storm-cards.js";
import { type StormJobData, stormJobs } from "./storm-jobs.schema.js";
import { retryDelay } from "./storm-policy.js";
import { retriesQueuedNote } from "./storms.messages.js";
import { findStorm } from "./storms.repo.js";

const BULK = 500;

export async function queueStormRetries(
  deps: Deps,
  data: StormJobData<"storms.retry-all">,
): Promise<number> {
  const storm = await findStorm(deps.db, data.stormId);
  if (!storm) return 0;
  // Checked again: the click may be minutes old when the job runs.
  const { standing } = await standingIn(deps, storm.role, data.actor.userId);
  if (standing === "outsider") return 0;
  const members = await deps.db
    .select({
      id: exceptions.id,
      state: exceptions.state,
      claimedBy: exceptions.claimedBy,
      retryCount: exceptions.retryCount,
      resolvedBy: exceptions.resolvedBy,
      canRetry: sql<boolean>`${exceptions.latestEvent}->'retry' is not null`,
    })
    .from(exceptions)
    .where(
      and(
        eq(exceptions.stormId, storm.id),
        ne(exceptions.state, "resolved"),
        lte(exceptions.openedAt, new Date(data.asOf)),
      ),
    )
    .orderBy(asc(exceptions.id));
  const eligible: { id: number; retryNumber: number }[] = [];
  const skipped = new Map<Refusal["reason"], number>();
  for (const member of members) {
    const outcome = transition(member, {
      kind: "retry",
      actor: data.actor.userId,
      isManager: standing === "manager",
    });
    if (outcome.ok) eligible.push({ id: member.id, retryNumber: outcome.change.retryCount });
    else skipped.set(outcome.reason, (skipped.get(outcome.reason) ?? 0) + 1);
  }
  const interval = deps.storms?.settings.retryIntervalMs ?? 200;
  const entry = stormJobs["storms.retry-member"];
  for (let start = 0; start < eligible.length; start += BULK) {
    await deps.queues.internal.addBulk(
      eligible.slice(start, start + BULK).map((member, offset) => ({
        name: "storms.retry-member",
        data: entry.schema.parse({ stormId: storm.id, exceptionId: member.id, actor: data.actor }),
        opts: jobOptions(entry, {
          jobId: `storm-${storm.id}-retry-${member.id}-${member.retryNumber}`,
          delay: retryDelay(start + offset, interval),
        }),
      })),
    );
  }
  if (eligible.length > 0) {
    // Keyed by the click: a rerun of this job (which queues no retry twice) is one note.
    await queueStormNote(
      deps.db,
      storm,
      retriesQueuedNote(data.actor.name, eligible.length, interval, skipped),
      `storm-${storm.id}-retryall-${data.actor.userId}-${data.asOf}`,
    );
  }
  return eligible.length;
}
