/**
 * Routing from Postgres, hot-reloaded: `current()` answers synchronously from a cached config;
 * a committed activation reaches every replica by LISTEN/NOTIFY within milliseconds, and a poll
 * of the active version number every few seconds covers a lost notification or connection.
 */
import { basename } from "node:path";
import type { Deps } from "../app/deps.js";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.js";
import type { Database } from "../platform/db/db.js";
import type { Logger } from "../platform/logger.js";
import type { ActiveRouting, RoutingSource } from "./active-routing.js";
import { parseRoutingText, readRoutingText } from "./load.js";
import { hasOrphans, sweepOrphans } from "./orphans.service.js";
import { formatProposalIssue } from "./proposal-check.js";
import { checkAgainstSlack } from "./slack-check.service.js";
import { activeVersion, activeVersionNumber, ROUTING_CHANNEL } from "./versions.repo.js";
import { configOf, proposeChange, syncFileOnStart } from "./versions.service.js";

export interface VersionedRoutingSource extends RoutingSource {
  refresh(): Promise<ActiveRouting>;
  /** Runs after each check (notify, poll, refresh) with whether the version changed. */
  onCheck(listener: (active: ActiveRouting, changed: boolean) => Promise<void>): void;
  close(): Promise<void>;
}

export async function startRoutingSource(input: {
  database: Pick<Database, "db" | "sql">;
  logger: Logger;
  pollMs: number;
}): Promise<VersionedRoutingSource> {
  const { database, logger } = input;
  const first = await activeVersion(database.db);
  if (!first) throw new Error("no active routing version in the database");
  let cached: ActiveRouting = { version: first.version, config: configOf(first) };
  const listeners: ((active: ActiveRouting, changed: boolean) => Promise<void>)[] = [];
  let closed = false;

  const load = async (): Promise<ActiveRouting> => {
    if (closed) return cached;
    const number = await activeVersionNumber(database.db);
    let changed = false;
    if (number !== null && number !== cached.version) {
      const row = await activeVersion(database.db);
      if (row && row.version !== cached.version) {
        try {
          const previous = cached.version;
          cached = { version: row.version, config: configOf(row) };
          changed = true;
          logger.info({ version: row.version, previous }, "routing version switched");
        } catch (error) {
          logger.error(
            { version: row.version, err: error },
            "active routing version does not parse; keeping the previous one",
          );
        }
      }
    }
    for (const listener of listeners) {
      await listener(cached, changed).catch((error: unknown) =>
        logger.warn({ err: error }, "routing check listener failed"),
      );
    }
    return cached;
  };
  // One check at a time, in order: a burst of notifications costs a few cheap queries.
  let chain: Promise<unknown> = Promise.resolve();
  const refresh = (): Promise<ActiveRouting> => {
    const next = chain.then(load, load);
    chain = next.catch((error: unknown) => logger.warn({ err: error }, "routing check failed"));
    return next;
  };

  let unlisten: (() => Promise<void>) | null = null;
  try {
    // The callback on (re)connect re-checks: notifications sent while disconnected are lost.
    const listening = await database.sql.listen(
      ROUTING_CHANNEL,
      () => void refresh().catch(() => {}),
      () => void refresh().catch(() => {}),
    );
    unlisten = listening.unlisten;
  } catch (error) {
    logger.warn({ err: error }, "cannot LISTEN for routing changes; polling only");
  }
  const timer = setInterval(() => void refresh().catch(() => {}), input.pollMs);
  timer.unref();

  return {
    current: () => cached,
    refresh,
    onCheck: (listener) => {
      listeners.push(listener);
    },
    close: async () => {
      closed = true;
      clearInterval(timer);
      await unlisten?.().catch(() => {});
      await chain;
    },
  };
}

/** The routing file's text, once it parses: a broken file stops start-up before anything connects. */
export async function readCheckedRoutingFile(path: string): Promise<string> {
  const text = await readRoutingText(path);
  parseRoutingText(text, path);
  return text;
}

export interface VersionedRouting {
  source: VersionedRoutingSource;
  /** Once deps exist: sweep orphaned exceptions, and propose a changed routing file. */
  watch(deps: Deps): void;
  close(): Promise<void>;
}

/**
 * Start-up: bootstraps version 1 from the routing file or notices that the file changed, then
 * serves the active version. `file` is null for tools (the CLI) that must not touch the file.
 */
export async function startVersionedRouting(input: {
  database: Pick<Database, "db" | "sql">;
  logger: Logger;
  now: Date;
  pollMs: number;
  file: { path: string; text: string } | null;
}): Promise<VersionedRouting> {
  const fileName = input.file ? basename(input.file.path) : "";
  let differs = false;
  let bootstrapped: number | null = null;
  if (input.file) {
    const synced = await syncFileOnStart(input.database.db, {
      text: input.file.text,
      fileName,
      now: input.now,
    });
    differs = synced.kind === "differs";
    if (synced.kind === "bootstrapped") bootstrapped = synced.active.version;
    if (synced.kind === "bootstrapped")
      input.logger.info(
        { version: synced.active.version, file: fileName },
        "routing bootstrapped from the file",
      );
  }
  const source = await startRoutingSource(input);
  const background = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    background.add(work);
    void work.finally(() => background.delete(work));
  };

  return {
    source,
    watch(deps) {
      source.onCheck(async (active, changed) => {
        if (changed || (await hasOrphans(deps, active.config))) await sweepOrphans(deps);
      });
      if (bootstrapped !== null && input.file)
        track(checkBootstrapped(deps, { version: bootstrapped, text: input.file.text, fileName }));
      if (!differs || !input.file) return;
      const text = input.file.text;
      track(
        proposeChange(deps, {
          text,
          author: `file:${fileName}`,
          reason: `${fileName} changed on deploy; it differs from active v${source.current().version}`,
          via: "file",
          fileName,
        })
          .then((result) => {
            if (result.ok)
              deps.logger.warn(
                { version: result.row.version },
                "routing file differs from the active version: proposed for review",
              );
            else if (result.kind === "invalid")
              deps.logger.error(
                { errors: result.errors },
                "routing file differs from the active version and was refused",
              );
            else deps.logger.info({ kind: result.kind }, result.message);
          })
          .catch((error: unknown) =>
            deps.logger.error({ err: error }, "could not propose the changed routing file"),
          ),
      );
    },
    close: async () => {
      await Promise.allSettled([...background]);
      await source.close();
    },
  };
}

/**
 * The first version is the file as deployed, taken without review; it gets the checks a proposal gets
 * from Slack, after start-up. What they find is logged and audited for whoever deployed it (a
 * card sent to a channel that does not exist would fail only when the first event comes).
 */
async function checkBootstrapped(
  deps: Deps,
  input: { version: number; text: string; fileName: string },
): Promise<void> {
  const { version, text, fileName } = input;
  try {
    const found = await checkAgainstSlack(deps, text, parseRoutingText(text, fileName));
    const problems = found.errors.map(formatProposalIssue);
    const warnings = found.warnings.map(formatProposalIssue);
    if (problems.length > 0)
      deps.logger.error(
        { file: fileName, problems },
        `routing v${version} (${fileName}) names channels or people that do not work in Slack: fix the file and deploy it (it becomes a proposal)`,
      );
    if (warnings.length > 0)
      deps.logger.warn({ file: fileName, warnings }, `routing v${version} warnings`);
    await recordAudit(deps.db, {
      actor: SYSTEM_ACTOR,
      source: "routing",
      action: "routing.slack_checked",
      note:
        problems.length > 0
          ? `routing v${version} has ${problems.length} problem(s) in Slack`
          : `routing v${version} checked against Slack: no problems`,
      details: { version, file: fileName, problems, warnings },
      at: deps.clock.now(),
    });
  } catch (error) {
    deps.logger.error({ err: error }, `could not check routing v${version} against Slack`);
  }
}
