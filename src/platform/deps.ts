/** Everything a service function needs, built once in main.ts (or a test's fixture). */
import type { WebClient } from "@slack/web-api";
import type { ExceptionRow } from "../exceptions/card.js";
import type { RoutingConfig } from "../routing/routing-file.schema.js";
import type { StormDesk } from "../storms/storm-desk.js";
import type { Clock } from "./clock.js";
import type { Db } from "./db/db.js";
import type { Logger } from "./logger.js";
import type { Queues } from "./queue/queues.js";
import type { Directory } from "./slack/directory.js";

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

export interface Deps {
  db: Db;
  queues: Queues;
  slack: WebClient;
  directory: Directory;
  logger: Logger;
  clock: Clock;
  routing: RoutingSource;
  /** Where routing proposals are posted for review (APPROVALS_CHANNEL); unset = listed only. */
  approvalsChannel?: string;
  /** Lines other features (SLA, storms) add to every exception card. */
  cardDecorators?: CardDecorator[];
  /** Storm grouping (src/storms); absent means every new fingerprint posts its own card. */
  storms?: StormDesk;
}

export type CardDecorator = (row: ExceptionRow) => string[] | undefined;

export function staticRouting(config: RoutingConfig, version: number | null = null): RoutingSource {
  const active = { version, config };
  return { current: () => active };
}
