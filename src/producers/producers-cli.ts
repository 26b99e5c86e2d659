/**
 * `npm run producers -- <command>` (entry: producers.cli.ts): the HTTP producers and their
 * tokens, from a shell, on the desk's database. Acts as `cli:<os user>` (recorded in the
 * audit), as the routes CLI does.
 *
 *   create <name> [--role R]   a producer and its token (shown once: only its hash is kept)
 *   list                       producers, live and revoked
 *   revoke <name>              the token stops working on the next request
 */
import { parseArgs } from "node:util";
import { type Closer, createDeps } from "../app/create-deps.js";
import type { Deps } from "../app/deps.js";
import type { Env } from "../env.js";
import { type CliOutput, cliActor, fail, parsedOrUsage, usage } from "../platform/cli.js";
import { createLogger } from "../platform/logger.js";
import { newProducerToken, PRODUCER_NAME, tokenHint, tokenSha256 } from "./producer-token.js";
import { createProducer, listProducers, revokeProducer } from "./producers.repo.js";

const USAGE = `usage: npm run producers -- create <name> [--role <role>] | list | revoke <name>
A producer sends events to POST /v1/events with its token (Authorization: Bearer sdp_…).
Acts as cli:<os user>.`;

/** Runs one command; resolves with the exit code (0 done, 1 refused, 2 usage). */
export async function runProducersCli(
  argv: string[],
  env: Env,
  io: CliOutput,
  options: { quiet?: boolean } = {},
): Promise<number> {
  const parsed = parsedOrUsage(() => parse(argv), io, USAGE);
  if (!parsed) return 2;
  const [command, ...args] = parsed.positionals;
  const valid =
    (command === "list" && args.length === 0) ||
    ((command === "create" || command === "revoke") && args.length === 1);
  if (!valid) return usage(io, USAGE);
  if (command !== "create" && parsed.values.role !== undefined) return usage(io, USAGE);
  const actor = cliActor();
  const logger = createLogger(options.quiet === false ? env.LOG_LEVEL : "warn", process.stderr);
  // Deps only: no migration, no worker, no HTTP, and the routing file left alone.
  const closers: Closer[] = [];
  try {
    const { deps } = await createDeps(env, { logger, routingText: null }, closers);
    // The queues' first round trip must end before the connection does (else an EPIPE).
    const { internal, failures, outcomes } = deps.queues;
    await Promise.all([internal, failures, outcomes].map((queue) => queue.waitUntilReady()));
    return await run(deps, io, command as "create" | "list" | "revoke", args[0] ?? "", {
      actor,
      role: parsed.values.role,
    });
  } finally {
    for (const closer of closers.reverse()) await closer.close().catch(() => undefined);
  }
}

function parse(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: { role: { type: "string" } } });
}

async function run(
  deps: Deps,
  io: CliOutput,
  command: "create" | "list" | "revoke",
  name: string,
  options: { actor: string; role: string | undefined },
): Promise<number> {
  const at = deps.clock.now();
  switch (command) {
    case "create": {
      if (!PRODUCER_NAME.test(name)) {
        return fail(
          io,
          `"${name}" is not a producer name: lowercase letters, digits, . _ - (up to 63).`,
        );
      }
      const role = options.role ?? null;
      if (role !== null) {
        const { config } = deps.routing.current();
        if (!config.roles[role]) {
          return fail(
            io,
            `There is no role "${role}" in the active routing (roles: ${Object.keys(config.roles).join(", ")}).`,
          );
        }
      }
      const token = newProducerToken();
      const created = await createProducer(deps.db, {
        name,
        role,
        tokenSha256: tokenSha256(token),
        tokenHint: tokenHint(token),
        actor: options.actor,
        at,
      });
      if (!created.ok) {
        return fail(io, `A producer named ${name} exists; revoke it first to give it a new token.`);
      }
      io.out(`created producer ${name}${role ? ` (role ${role})` : ""}. Its token, shown once:`);
      io.out(token);
      io.out("Send it as Authorization: Bearer <token> to POST /v1/events.");
      return 0;
    }
    case "list": {
      const rows = await listProducers(deps.db);
      if (rows.length === 0) io.out("no producers");
      for (const row of rows) {
        const state = row.revokedAt
          ? `revoked ${row.revokedAt.toISOString()} by ${row.revokedBy}`
          : "live";
        io.out(
          `${row.name.padEnd(24)} ${state.padEnd(10)} role ${row.role ?? "-"}, token ${row.tokenHint}, created ${row.createdAt.toISOString()} by ${row.createdBy}`,
        );
      }
      return 0;
    }
    case "revoke": {
      const row = await revokeProducer(deps.db, { name, actor: options.actor, at });
      if (!row) return fail(io, `There is no live producer named ${name}.`);
      io.out(`revoked ${name} (token ${row.tokenHint}); it is refused from the next request on.`);
      return 0;
    }
  }
}
