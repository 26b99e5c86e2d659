/** The routing a process acts on now: fixed (tests, tools) or the active version in Postgres. */
import type { RoutingConfig } from "./routing-file.schema.js";

export interface ActiveRouting {
  /** The routing version in Postgres, or null while routing comes straight from the file. */
  version: number | null;
  config: RoutingConfig;
}

export interface RoutingSource {
  current(): ActiveRouting;
  /** Re-reads the active version now (versioned routing); others learn of it by NOTIFY or poll. */
  refresh?(): Promise<ActiveRouting>;
}

export function staticRouting(config: RoutingConfig, version: number | null = null): RoutingSource {
  const active = { version, config };
  return { current: () => active };
}
