import { createHash } from "node:crypto";
import type { FailureEvent } from "./failure-event.schema.js";

/**
 * Repeats of the same failure group under one exception: same client, SKU, target and mode.
 * Hashed so the key has a fixed size whatever the producer sends.
 */
export function fingerprint(
  event: Pick<FailureEvent, "client" | "sku" | "targetSystem" | "failureMode">,
): string {
  const key = JSON.stringify([event.client, event.sku, event.targetSystem, event.failureMode]);
  return createHash("sha256").update(key).digest("hex").slice(0, 32);
}
