/**
 * Reads what `/inventory` answers with: status, my queue, the checklist, and which roles a
 * person belongs to. Queries run side by side; the judging and rendering are pure.
 */
import type { Deps } from "../app/deps.js";
import { pipelineReports } from "../deliveries/pipelines.service.js";
import { standingIn } from "../exceptions/authorization.js";
import type { RoutingConfig } from "../routing/routing-file.schema.js";
import { type ChecklistLine, evaluateChecklist } from "./checklist.js";
import { checklistFacts } from "./checklist.repo.js";
import { DAY_MS, type StatusArgs } from "./command-args.js";
import { recentSnapshot } from "./figure-snapshots.js";
import { liveExceptions } from "./live.repo.js";
import type { MineReport, QueueItem } from "./queue.view.js";
import { byUrgency, type LiveException, slaStanding } from "./sla-state.js";
import { liveByRole, rejectedSince, type Scope, windowFigures } from "./status.repo.js";
import type { StatusReport } from "./status.view.js";

export type ReadDeps = Pick<Deps, "db" | "clock" | "routing" | "directory">;

export async function statusReport(deps: ReadDeps, args: StatusArgs): Promise<StatusReport> {
  const now = deps.clock.now();
  const scope: Scope = {
    ...(args.client !== undefined ? { client: args.client } : {}),
    ...(args.role !== undefined ? { roles: [args.role] } : {}),
    ...(args.vertical !== undefined ? { vertical: args.vertical } : {}),
  };
  const timeZone = statusTimeZone(deps.routing.current().config, args.role);
  const window = { now, ms: args.windowMs, timeZone };
  const everything = Object.keys(scope).length === 0;
  const [live, { figures, asOf }, rejected, freshness] = await Promise.all([
    liveByRole(deps.db, scope),
    // Every client and role over 7 or 30 days: as the worker computed it, if it did lately.
    (everything ? recentSnapshot(deps.db, window) : Promise.resolve(null)).then(
      async (snapshot) =>
        snapshot ?? { figures: await windowFigures(deps.db, scope, window), asOf: null },
    ),
    rejectedSince(deps.db, new Date(now.getTime() - args.windowMs)),
    // Freshness is about now: the last 24 hours, whatever window the rest covers.
    pipelineReports(deps, {
      windowMs: DAY_MS,
      ...(args.client !== undefined ? { client: args.client } : {}),
    }),
  ]);
  return {
    args,
    now,
    timeZone,
    live,
    figures,
    ...(asOf ? { figuresAsOf: asOf } : {}),
    rejected,
    freshness,
  };
}

/**
 * The zone status counts days in: the role's when it asks about one; else the zone every role
 * shares, or the default role's when they differ.
 */
export function statusTimeZone(
  config: Pick<RoutingConfig, "roles" | "defaultRole">,
  role: string | undefined,
): string {
  const zoneOf = (name: string) => config.roles[name]?.sla.timezone ?? "UTC";
  if (role !== undefined) return zoneOf(role);
  const zones = new Set(Object.keys(config.roles).map(zoneOf));
  return zones.size === 1 ? ([...zones][0] as string) : zoneOf(config.defaultRole);
}

/** The roles a person is a member (listed or through the user group) or manager of. */
export async function rolesOf(deps: Pick<Deps, "routing" | "directory">, userId: string) {
  const roles = Object.keys(deps.routing.current().config.roles).sort();
  const standings = await Promise.all(roles.map((role) => standingIn(deps, role, userId)));
  return roles.filter((_, i) => standings[i]?.standing !== "outsider");
}

export function queueItems(deps: Pick<Deps, "routing">, rows: LiveException[], now: Date) {
  const config = deps.routing.current().config;
  return rows
    .map((row): QueueItem => ({ row, standing: slaStanding(row, config, now) }))
    .sort(byUrgency);
}

export async function mineReport(deps: ReadDeps, userId: string): Promise<MineReport> {
  const now = deps.clock.now();
  const roles = await rolesOf(deps, userId);
  const [heldRows, roleRows] = await Promise.all([
    liveExceptions(deps.db, { claimedBy: userId }),
    liveExceptions(deps.db, { roles }),
  ]);
  const atRisk = queueItems(
    deps,
    roleRows.filter((row) => row.claimedBy !== userId),
    now,
  ).filter((item) => item.standing.urgency !== "ok");
  return { userId, roles, held: queueItems(deps, heldRows, now), atRisk };
}

export async function checklistLines(
  deps: Pick<Deps, "db" | "clock" | "routing">,
): Promise<ChecklistLine[]> {
  const now = deps.clock.now();
  const reports = await pipelineReports(deps, { windowMs: DAY_MS });
  // Declared pipelines only: deliveries no pipeline takes have no budget to be beyond.
  const pipelines = reports.flatMap((report) =>
    report.config
      ? [
          {
            name: report.name,
            stale: report.stale === true,
            overBudget: report.overBudget,
            p95Ms: report.figures.p95Ms,
            budgetMs: report.config.budgetMs,
            deliveries: report.figures.deliveries,
          },
        ]
      : [],
  );
  const facts = await checklistFacts(deps.db, now, pipelines);
  return evaluateChecklist(facts, deps.routing.current().config, now);
}

/** The pipelines some roles own (their gates page them), worst first, over `windowMs`. */
export async function roleFreshness(
  deps: Pick<Deps, "db" | "clock" | "routing">,
  roles: readonly string[],
  windowMs: number,
) {
  const reports = await pipelineReports(deps, { windowMs });
  return reports.filter((report) => report.config !== null && roles.includes(report.config.role));
}

/** The week's figures of some roles, for the Home tab and the digest. */
export function weekFigures(deps: Pick<Deps, "db" | "clock">, roles: string[]) {
  return windowFigures(deps.db, { roles }, { now: deps.clock.now(), ms: 7 * DAY_MS });
}
