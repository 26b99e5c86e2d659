/**
 * Routing from Postgres, hot-reloaded: `current()` answers synchronously from a cached config;
 * a committed activation reaches every replica by LISTEN/NOTIFY within milliseconds, and a poll
 * of the active version number every few seconds covers a lost notification or connection.
 */
import { basename } from "node:path";
import type { Database } from "../platform/db/db.js";
import type { ActiveRouting, Deps, RoutingSource } from "../platform/deps.js";
import type { Logger } from "../platform/logger.js";
import { parseRoutingText, readRoutingText } from "./load.js";
import { hasOrphans, sweepOrphans } from "./orphans.service.js";
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
  if (input.file) {
    const synced = await syncFileOnStart(input.database.db, {
      text: input.file.text,
      fileName,
      now: input.now,
    });
    differs = synced.kind === "differs";
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
