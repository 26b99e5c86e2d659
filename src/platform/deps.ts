/**
 * The plumbing every part of syncdesk may be handed: the ground floor of `Deps`. Types only,
 * and nothing from a feature: the app's whole `Deps` (routing, storms, the exception seam's
 * hooks) is declared by the composition root in src/app/deps.ts.
 */
import type { WebClient } from "@slack/web-api";
import type { Clock } from "./clock.js";
import type { Db } from "./db/db.js";
import type { Logger } from "./logger.js";
import type { Queues } from "./queue/queues.js";
import type { Directory } from "./slack/directory.js";

export interface PlatformDeps {
  db: Db;
  queues: Queues;
  slack: WebClient;
  directory: Directory;
  logger: Logger;
  clock: Clock;
}
