/**
 * The routing file may narrow `retryQueues` after an exception opened: its Retry button then
 * refuses, says why, and queues nothing (the queue is checked again at the click, not only on
 * the event's arrival).
 */
import { describe, expect, it } from "vitest";
import { loadRoutingFile } from "../../src/routing/load.js";
import type { RoutingConfig } from "../../src/routing/routing-file.schema.js";
import { failureEvent, ROUTING_FIXTURE } from "../support/harness.js";
import { click, DESK, posted, replyTo, USERS } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

let config: RoutingConfig = await loadRoutingFile(ROUTING_FIXTURE);
// Routing a test can change in place, as an approved routing version changes it.
const h = useHarness({
  ...DESK,
  start: { routing: { current: () => ({ version: 1, config }) } },
});

describe("Retry after the routing file stopped allowing the event's queue", () => {
  it("refuses, says why, and queues nothing", async () => {
    const retry = { queue: "storefront-sync", name: "sync.sku", data: { sku: "SKU-NARROWED" } };
    await h.report(failureEvent({ sku: "SKU-NARROWED", retry }));
    const [row] = await posted(h, "SKU-NARROWED");
    config = { ...config, retryQueues: config.retryQueues.filter((q) => q !== retry.queue) };
    const res = await click(h, USERS.alice, row!.id, "retry");
    expect(await replyTo(h, res)).toContain(
      `I did not retry EX-${row!.id}: its retry queue "storefront-sync" is not a retry queue the routing file allows`,
    );
    expect(await h.producerQueue(retry.queue).getJobCounts()).toMatchObject({ waiting: 0 });
    expect((await h.exception(row!.id)).state).toBe("open");
  });
});
