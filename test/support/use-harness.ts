/**
 * The file-scoped fixture every integration test file uses instead of its own
 * beforeAll/afterAll pair:
 *
 *   const h = useHarness({ routingFile: SLA_ROUTING });
 *   it("…", async () => { await h.report(failureEvent()); … });
 *
 * It starts one syncdesk before the file's tests (before the file's own beforeAll hooks, which
 * may use it) and, after them (after the file's own afterAll hooks, which run first), closes it
 * and fails the file when
 * - a Postgres connection to the file's database is still open,
 * - a Redis connection named after the file's queue prefix is still open (a BullMQ worker, a
 *   queue, syncdesk's own),
 * - more sockets, servers, timers or child processes keep this process alive than before the
 *   file started,
 * - the Slack stand-in recorded a Block Kit violation.
 * A file that passed is dropped with a plain DROP (never WITH (FORCE), which would hide a leak);
 * a file that failed keeps its database for inspection and prints its name.
 */
import { afterAll, beforeAll } from "vitest";
import { type Harness, type HarnessOptions, REDIS_URL, startHarness } from "./harness.js";
import { baselineHandles, connectionLeaks, type HandleCounts, handleLeaks } from "./leaks.js";
import { adminClient } from "./test-databases.js";

interface TaskLike {
  type?: string;
  result?: { state?: string };
  tasks?: readonly TaskLike[];
}

function anyFailed(task: TaskLike): boolean {
  return task.result?.state === "fail" || (task.tasks ?? []).some(anyFailed);
}

/**
 * Harnesses of this file alive now. Handles (timers, sockets) belong to the process, not to one
 * harness: while an outer harness runs its own timers, an inner one's count would move with
 * them. So the handle check spans the outermost harness only; connections are checked per
 * harness (its own database and queue prefix).
 */
let live = 0;

export function useHarness(setup: HarnessOptions | (() => Promise<Harness>) = {}): Harness {
  let current: Harness | undefined;
  let handlesBefore: HandleCounts | null = null;

  beforeAll(async () => {
    handlesBefore = live === 0 ? await baselineHandles() : null;
    current = typeof setup === "function" ? await setup() : await startHarness(setup);
    live += 1;
  });

  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a hook's fixtures from this pattern
  afterAll(async ({}, file) => {
    const h = current;
    current = undefined;
    if (!h) return;
    live -= 1;
    const violations = h.fake.violations.map((v) => `${v.method} ${v.target}: ${v.problem}`);
    await h.close();
    const problems = violations.map((v) => `Block Kit violation: ${v}`);
    // Handles first, before the checks below open connections of their own.
    if (handlesBefore) problems.push(...(await handleLeaks(handlesBefore)));
    const admin = adminClient();
    try {
      problems.push(...(await connectionLeaks(admin, h.database, REDIS_URL, h.env.QUEUE_PREFIX)));
      if (anyFailed(file) || problems.length > 0) {
        console.warn(`kept the test database for inspection: ${h.database} (${h.databaseUrl})`);
      } else {
        await admin.unsafe(`drop database "${h.database}"`).catch((error: Error) => {
          problems.push(`could not drop ${h.database}: ${error.message}`);
        });
      }
    } finally {
      await admin.end();
    }
    if (problems.length > 0) {
      throw new Error(
        `this file left things behind (database ${h.database} kept):\n- ${problems.join("\n- ")}`,
      );
    }
  });

  return new Proxy({} as Harness, {
    get(_target, key) {
      if (current) return Reflect.get(current, key);
      if (typeof key === "symbol" || key === "then") return undefined;
      throw new Error(
        `useHarness: no harness to read "${key}" from; it runs from beforeAll to afterAll`,
      );
    },
  });
}
