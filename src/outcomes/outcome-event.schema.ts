/** What a pipeline reports when a sync succeeds: the signal that an open exception recovered. */
import type { Queue } from "bullmq";
import { z } from "zod";

export const outcomeEventSchema = z.strictObject({
  kind: z.literal("sync.succeeded"),
  client: z.string().trim().min(1).max(100),
  sku: z.string().trim().min(1).max(200),
  targetSystem: z.string().trim().min(1).max(100),
  occurredAt: z.iso.datetime({ offset: true }),
});

export type OutcomeEvent = z.infer<typeof outcomeEventSchema>;

export const DEFAULT_OUTCOME_QUEUE = "inventory-sync-outcomes";

export async function reportSyncSuccess(queue: Queue, event: OutcomeEvent): Promise<void> {
  await queue.add("sync.succeeded", outcomeEventSchema.parse(event), {
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  });
}
