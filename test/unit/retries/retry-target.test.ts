import { describe, expect, it } from "vitest";
import { retryTargetProblem } from "../../../src/retries/retry-target.js";

const OWN = ["syncdesk", "inventory-sync-failures", "inventory-sync-outcomes"];

describe("retryTargetProblem", () => {
  it("lets an event without a retry through", () => {
    expect(retryTargetProblem(undefined, { retryQueues: [] }, OWN)).toBeNull();
  });

  it("lets a listed queue or one matching a glob through", () => {
    const config = { retryQueues: ["storefront-sync", "feed-*"] };
    expect(retryTargetProblem({ queue: "storefront-sync" }, config, OWN)).toBeNull();
    expect(retryTargetProblem({ queue: "feed-publisher" }, config, OWN)).toBeNull();
  });

  it("refuses the desk's own queues even when a glob would allow them", () => {
    for (const queue of OWN) {
      const problem = retryTargetProblem({ queue }, { retryQueues: ["*"] }, OWN);
      expect(problem).toEqual({
        path: "retry.queue",
        message: `names syncdesk's own queue "${queue}": a Retry click may not add jobs there`,
      });
    }
  });

  it("refuses a queue the routing file does not list, and says what is allowed", () => {
    expect(
      retryTargetProblem({ queue: "billing" }, { retryQueues: ["feed-*"] }, OWN)?.message,
    ).toBe('"billing" is not a retry queue the routing file allows (retryQueues: one of: feed-*)');
    expect(retryTargetProblem({ queue: "billing" }, { retryQueues: [] }, OWN)?.message).toBe(
      '"billing" is not a retry queue the routing file allows (retryQueues: none are listed)',
    );
  });

  it("matches case-sensitively, as BullMQ names queues", () => {
    expect(
      retryTargetProblem({ queue: "Storefront-Sync" }, { retryQueues: ["storefront-sync"] }, OWN),
    ).not.toBeNull();
  });
});
