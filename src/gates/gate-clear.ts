/** How a gate clears its exception: through the exception seam (`gate_cleared`), counted. */
import type { Deps } from "../app/deps.js";
import { applySignal } from "../exceptions/exceptions.service.js";
import { type GateDetail, type GateKind, gateDetailSchema } from "../exceptions/gate-detail.js";
import { countGate } from "./gate-metrics.js";

/** Resolves a gate's exception, saying why; false when it was no longer live. */
export async function clear(
  deps: Deps,
  exceptionId: number,
  said: string,
  detail: Record<string, unknown> & { gate: GateKind; pipeline: string },
): Promise<boolean> {
  const row = await applySignal(deps, {
    exceptionId,
    signal: { kind: "gate_cleared", said, detail },
    source: "gate",
  });
  if (row !== null) countGate("cleared", detail.gate, detail.pipeline);
  return row !== null;
}

/** The gate detail stored in an exception's event, or null when it has none (or a bad one). */
export function detailOf(gate: unknown): GateDetail | null {
  const parsed = gateDetailSchema.safeParse(gate);
  return parsed.success ? parsed.data : null;
}
