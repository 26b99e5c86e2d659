/**
 * Where a Retry click may add a job. A failure event names its retry queue, and a click later
 * enqueues the event's `retry.data` there with the bot's own Redis credentials: an event naming
 * syncdesk's own queues (its intake, its outcomes, its internal jobs) would let a producer feed
 * the desk jobs of its choosing, and any other queue on the same Redis is some other team's. So
 * the routing file lists the retry targets (`retryQueues`, globs, behind the review gate), and
 * the desk's own queues are refused whatever it lists. Pure.
 */

import type { Problem } from "../intake/validation.js";
import { globMatches } from "../routing/evaluate.js";
import type { RoutingConfig } from "../routing/routing-file.schema.js";

export function retryTargetProblem(
  retry: { queue: string } | undefined,
  config: Pick<RoutingConfig, "retryQueues">,
  ownQueues: readonly string[],
): Problem | null {
  if (!retry) return null;
  const path = "retry.queue";
  if (ownQueues.includes(retry.queue)) {
    return {
      path,
      message: `names syncdesk's own queue "${retry.queue}": a Retry click may not add jobs there`,
    };
  }
  if (!config.retryQueues.some((pattern) => globMatches(pattern, retry.queue))) {
    const allowed = config.retryQueues.length
      ? `one of: ${config.retryQueues.join(", ")}`
      : "none are listed";
    return {
      path,
      message: `"${retry.queue}" is not a retry queue the routing file allows (retryQueues: ${allowed})`,
    };
  }
  return null;
}
