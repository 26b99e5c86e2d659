/** Prometheus figures of the latency gates: exceptions opened and cleared, per gate and pipeline. */
import type { GateKind } from "../exceptions/gate-detail.js";
import { counter } from "../platform/metrics.js";

export const gateMetrics = {
  opened: counter(
    "syncdesk_gate_exceptions_opened_total",
    "Exceptions a latency gate opened (or added an occurrence to), per gate and pipeline.",
    ["gate", "pipeline"],
  ),
  cleared: counter(
    "syncdesk_gate_exceptions_cleared_total",
    "Exceptions a latency gate resolved itself once its cause went away, per gate and pipeline.",
    ["gate", "pipeline"],
  ),
};

export function countGate(what: "opened" | "cleared", gate: GateKind, pipeline: string): void {
  gateMetrics[what].inc({ gate, pipeline });
}
