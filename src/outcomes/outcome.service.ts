/** A later successful sync of the same client, SKU and target resolves its open exceptions. */
import { and, eq, lte, ne } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { applySignal } from "../exceptions/exceptions.service.js";
import { recordRejection } from "../intake/intake.service.js";
import { OUTCOME_SOURCE_PREFIX } from "../intake/rejected.js";
import { check } from "../intake/validation.js";
import { exceptions } from "../platform/db/schema.js";
import { outcomeEventSchema } from "./outcome-event.schema.js";

export type OutcomeResult =
  | { kind: "recovered"; exceptionIds: number[] }
  | { kind: "rejected"; rejectedId: number };

export async function applyOutcome(
  deps: Deps,
  job: { id: string; data: unknown },
): Promise<OutcomeResult> {
  const checked = check(outcomeEventSchema, job.data);
  if (!checked.ok) {
    const rejected = await recordRejection(
      deps,
      { id: `${OUTCOME_SOURCE_PREFIX}${job.id}`, data: job.data },
      checked.problems,
    );
    return { kind: "rejected", rejectedId: rejected.rejectedId };
  }
  const event = checked.value;
  const open = await deps.db
    .select({ id: exceptions.id })
    .from(exceptions)
    .where(
      and(
        eq(exceptions.client, event.client),
        eq(exceptions.sku, event.sku),
        eq(exceptions.targetSystem, event.targetSystem),
        ne(exceptions.state, "resolved"),
        // Only a success after the latest failure proves the SKU recovered.
        lte(exceptions.lastSeenAt, new Date(event.occurredAt)),
      ),
    );
  const recovered: number[] = [];
  for (const { id } of open) {
    const changed = await applySignal(deps, {
      exceptionId: id,
      signal: {
        kind: "recovered",
        detail: { succeededAt: event.occurredAt, outcomeJobId: job.id },
      },
      source: "outcome",
    });
    if (changed) recovered.push(id);
  }
  return { kind: "recovered", exceptionIds: recovered };
}
