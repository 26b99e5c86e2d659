/**
 * **Re-publish from source of truth** on a `partial_write` card: enqueues the producer's
 * compensation job (the event's `retry` spec) with the quantity the source of truth's latest
 * complete snapshot holds for the SKU. Members of the card's role and its managers; the retry
 * target is checked against the routing file as a Retry click's is. Audited and noted in the
 * card's thread through the exception seam; the job id is the exception's and the snapshot's,
 * so a second click on the same figure adds no second job. The next reconciliation that finds
 * the SKU matched resolves the card as recovered (src/recon/drift.ts).
 */
import { sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { standingIn } from "../exceptions/authorization.js";
import { exceptionLabel } from "../exceptions/card.js";
import { changeException } from "../exceptions/change.js";
import { findException } from "../exceptions/exceptions.repo.js";
import { escapeMrkdwn, mention } from "../platform/slack/mrkdwn.js";
import { retryTargetProblem } from "../retries/retry-target.js";
import { clientSourceOfTruth } from "../routing/source-of-truth.js";
import { latestSnapshot } from "./compare.repo.js";

export type RepublishResult = { ok: true; text: string } | { ok: false; text: string };

export async function republishFromTruth(
  deps: Deps,
  input: { exceptionId: number; userId: string },
): Promise<RepublishResult> {
  const row = await findException(deps.db, input.exceptionId);
  const label = exceptionLabel(input.exceptionId);
  if (!row) return { ok: false, text: `${label} no longer exists.` };
  const { standing } = await standingIn(deps, row.role, input.userId);
  if (standing === "outsider") {
    return {
      ok: false,
      text: `Only members of *${escapeMrkdwn(row.role)}* and its managers can re-publish ${label}. Nothing was sent.`,
    };
  }
  const retry = row.latestEvent.retry;
  if (row.state === "resolved" || row.failureMode !== "partial_write" || !retry) {
    return {
      ok: false,
      text: `${label} is not an open partial write with a compensation job. Nothing was sent.`,
    };
  }
  const { config } = deps.routing.current();
  const problem = retryTargetProblem(retry, config, deps.queues.own);
  if (problem) return { ok: false, text: `${escapeMrkdwn(problem.message)} Nothing was sent.` };
  const truth = clientSourceOfTruth(config, row.client, row.targetSystem);
  if (!truth) {
    return {
      ok: false,
      text: `The routing file names no source of truth for ${escapeMrkdwn(row.client)} → ${escapeMrkdwn(row.targetSystem)}. Nothing was sent.`,
    };
  }
  const snapshot = await latestSnapshot(deps.db, row.client, truth);
  const [held] = snapshot
    ? await deps.db.execute<{ quantity: string | null }>(sql`
        select sum(quantity)::text as quantity from snapshot_items
        where snapshot_key = ${snapshot.key} and sku = ${row.sku}`)
    : [];
  if (!snapshot || held?.quantity == null) {
    return {
      ok: false,
      text: `No complete snapshot of ${escapeMrkdwn(truth)} holds ${escapeMrkdwn(row.sku)}: nothing to re-publish. Nothing was sent.`,
    };
  }
  const quantity = Number(held.quantity);
  const jobId = `syncdesk-republish-${row.id}-${snapshot.key}`;
  const note = `:arrows_clockwise: ${mention(input.userId)} re-published ${escapeMrkdwn(row.sku)} from ${escapeMrkdwn(truth)}: quantity ${quantity} (snapshot of ${snapshot.takenAt.toISOString()}), job "${escapeMrkdwn(retry.name)}" on ${escapeMrkdwn(retry.queue)}. The next reconciliation that finds it matched resolves this card.`;
  const changed = await changeException(deps, row.id, (current) => ({
    ok: true,
    facts: null,
    change: {
      patch: { updatedAt: deps.clock.now() },
      audit: {
        actor: input.userId,
        source: "slack",
        action: "republish",
        note: `from ${truth}: ${quantity}`,
        expectedOutcome: `job ${jobId} on ${retry.queue} writes ${quantity}; the next reconciliation matches`,
        details: {
          jobId,
          queue: retry.queue,
          sourceOfTruth: truth,
          snapshotId: snapshot.id,
          quantity,
          state: current.state,
        },
        at: deps.clock.now(),
      },
      note,
      card: false,
    },
  }));
  if (!changed.ok)
    return { ok: false, text: `${label} could not be changed just now. Nothing was sent.` };
  // After the commit, as a Retry click's job: the audit row names the job id it adds.
  await deps.queues.external(retry.queue).add(
    retry.name,
    {
      ...retry.data,
      quantity,
      syncdesk: {
        exceptionId: row.id,
        compensation: "republish_from_source_of_truth",
        sourceOfTruth: truth,
        snapshotId: snapshot.id,
        requestedBy: input.userId,
      },
    },
    { jobId, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } },
  );
  return {
    ok: true,
    text: `:white_check_mark: ${label}: ${escapeMrkdwn(row.sku)} re-published from ${escapeMrkdwn(truth)} with quantity ${quantity}.`,
  };
}
