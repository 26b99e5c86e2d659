/** The inventory feature's job handlers (joined into the worker's table by src/app/jobs.ts). */
import type { Deps } from "../app/deps.js";
import type { JobHandlers } from "../platform/queue/catalog.js";
import { digestKey, sendDigest } from "./digest.job.js";
import { refreshFigureSnapshots } from "./figure-snapshots.js";
import { fanOutHome, refreshHomeJob } from "./home.service.js";
import { statusTimeZone } from "./inventory.service.js";
import type { inventoryJobs } from "./inventory-jobs.schema.js";

export function inventoryJobHandlers(deps: Deps): JobHandlers<typeof inventoryJobs> {
  return {
    "home.fanout": (data) => fanOutHome(deps, data.role),
    "home.refresh": (data) => refreshHomeJob(deps, data.userId),
    "digest.send": (_data, job) => sendDigest(deps, digestKey(job)),
    "status.figures": () =>
      refreshFigureSnapshots(
        deps.db,
        deps.clock.now(),
        statusTimeZone(deps.routing.current().config, undefined),
      ),
  };
}
