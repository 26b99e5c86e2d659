/** From the RETENTION_* settings to the rules, and the job scheduler that runs them. */
import type { Env } from "../env.js";
import { SCHEDULED } from "../platform/queue/catalog.js";
import type { Queues } from "../platform/queue/queues.js";
import { checkRetention, type RetentionRule, retentionRules } from "./retention-rules.js";

export function retentionFromEnv(env: Env): { rules: RetentionRule[]; sweepMs: number } {
  const settings = {
    failurePayloadsMs: env.RETENTION_FAILURE_PAYLOADS,
    rejectedEventsMs: env.RETENTION_REJECTED_EVENTS,
    auditMs: env.RETENTION_AUDIT,
    deliveriesMs: env.RETENTION_DELIVERIES,
  };
  const problem = checkRetention(settings);
  if (problem) throw new Error(problem);
  return { rules: retentionRules(settings), sweepMs: env.RETENTION_SWEEP_MS };
}

/** One schedule across replicas (one scheduler id); upserting it again changes nothing. */
export async function scheduleRetention(queues: Queues, everyMs: number): Promise<void> {
  await queues.internal.upsertJobScheduler(
    "retention-prune",
    { every: everyMs },
    {
      name: "retention.prune",
      data: {},
      opts: { ...SCHEDULED, removeOnComplete: true, removeOnFail: 100 },
    },
  );
}
