/**
 * A steady flow of deliveries beside a bench's own measurement: `sync.batch` jobs of 1,000
 * successes on the outcomes queue, paced to `perSecond`, until stopped (issue 12: cards and
 * click acks stay under 100 ms while 5,000 deliveries a second flow). Prints nothing; `stop()`
 * says how many went out per second.
 */
import type { Queue } from "bullmq";

export interface DeliveryFlow {
  /** Stops the flow (again: no-op) and returns the rate it kept, deliveries per second. */
  stop(): Promise<number>;
}

export function startDeliveryFlow(outcomes: Queue, perSecond: number, runId: string): DeliveryFlow {
  const flow = { on: perSecond > 0, sent: 0, since: Date.now() };
  const everyMs = 1_000_000 / Math.max(1, perSecond);
  const flowing = (async () => {
    for (let n = 0; flow.on; n++) {
      const started = Date.now();
      const events = Array.from({ length: 1000 }, (_, k) => ({
        kind: "sync.succeeded",
        eventId: `flow-${runId}-${n}-${k}`,
        client: "acme",
        sku: `FLOW-${k}`,
        sourceSystem: "erp.netsuite",
        targetSystem: "storefront.shopify",
        triggeredAt: new Date(started - 2000).toISOString(),
        occurredAt: new Date(started).toISOString(),
      }));
      await outcomes.add("sync.batch", { kind: "sync.batch", events }, { removeOnComplete: true });
      flow.sent += events.length;
      const wait = everyMs - (Date.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    async stop() {
      flow.on = false;
      await flowing;
      return flow.sent / Math.max(0.001, (Date.now() - flow.since) / 1000);
    },
  };
}
