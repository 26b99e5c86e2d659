/**
 * `npm run routes -- <command>` (entry: routes.cli.ts): routing versions from a shell, on the
 * same database and checks as Slack. Proposals made here are reviewed in Slack like any other (approval has four eyes and
 * happens only there); admins may break glass here when Slack itself is the problem.
 *
 *   list                                   versions, newest first
 *   show <version>                         one version: status, review, YAML
 *   test field=value …                     where such an event goes, now and per proposal
 *   propose <file> --reason "…"             check and propose a routing file
 *   rollback <version> --reason "…" [--break-glass]
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { type Closer, createDeps } from "../app/create-deps.js";
import type { Deps } from "../app/deps.js";
import type { Env } from "../env.js";
import { type CliOutput, cliActor, fail, parsedOrUsage, usage } from "../platform/cli.js";
import { createLogger } from "../platform/logger.js";
import { breakGlassRollback } from "./break-glass.service.js";
import { checkBreakGlassToken, TOKEN_REFUSALS, type TokenCheck } from "./break-glass-token.js";
import { diffLines } from "./diff.js";
import { formatProposalIssue } from "./proposal-check.js";
import type { ReviewSnapshot } from "./review-policy.js";
import { answerTest, parseRoutesCommand, testEvent } from "./routes-command.js";
import {
  activeVersion,
  pendingProposals,
  recentVersions,
  type VersionRow,
  versionByNumber,
} from "./versions.repo.js";
import {
  configOf,
  type ProposeResult,
  proposeChange,
  proposeRollback,
} from "./versions.service.js";

const USAGE = `usage: npm run routes -- list | show <version> | test field=value … |
       propose <file> --reason "…" |
       rollback <version> --reason "…" [--break-glass]
Acts as cli:<os user>; approve proposals in Slack. --break-glass reads the admins' token from
SYNCDESK_BREAK_GLASS_TOKEN.`;
const COMMANDS = ["list", "show", "test", "propose", "rollback"];

export type { CliOutput };

/** Runs one command; resolves with the exit code (0 done, 1 refused, 2 usage). */
export async function runRoutesCli(
  argv: string[],
  env: Env,
  io: CliOutput,
  options: { quiet?: boolean; breakGlassToken?: string } = {},
): Promise<number> {
  const parsed = parsedOrUsage(() => parseCliArgs(argv), io, USAGE);
  if (!parsed) return 2;
  const [command, ...args] = parsed.positionals;
  if (!command || !COMMANDS.includes(command)) return usage(io, USAGE);
  const { values } = parsed;
  const actor = cliActor();
  const token = checkBreakGlassToken(options.breakGlassToken, env.BREAK_GLASS_TOKEN_SHA256);
  const logger = createLogger(options.quiet === false ? env.LOG_LEVEL : "warn", process.stderr);
  // Deps only: no migration, no worker, no HTTP, and the routing file left alone.
  const closers: Closer[] = [];
  try {
    const { deps } = await createDeps(env, { logger, routingText: null }, closers);
    return await run(deps, io, command, args, { ...values, actor, token });
  } finally {
    for (const closer of closers.reverse()) await closer.close().catch(() => undefined);
  }
}

function parseCliArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      reason: { type: "string" },
      "break-glass": { type: "boolean" },
    },
  });
}

async function run(
  deps: Deps,
  io: CliOutput,
  command: string,
  args: string[],
  options: { reason?: string; actor: string; token: TokenCheck; "break-glass"?: boolean },
): Promise<number> {
  switch (command) {
    case "list": {
      const active = await activeVersion(deps.db);
      io.out(`active: v${active?.version ?? "none"}`);
      for (const row of await recentVersions(deps.db, 20)) io.out(line(row));
      return 0;
    }
    case "show": {
      const row = await versionByNumber(deps.db, Number(args[0]));
      if (!row) return fail(io, `There is no routing v${args[0]}.`);
      io.out(line(row));
      if (row.decisionNote) io.out(`decision: ${row.decisionNote}`);
      if (row.review) printReview(io, row.review as ReviewSnapshot);
      io.out("---");
      io.out(row.text);
      return 0;
    }
    case "test": {
      const parsed = parseRoutesCommand(["test", ...args].join(" "));
      if (!parsed.ok || parsed.command.kind !== "test")
        return fail(io, parsed.ok ? USAGE : parsed.error);
      const event = testEvent(parsed.command.fields);
      const rows = [await activeVersion(deps.db), ...(await pendingProposals(deps.db))];
      for (const row of rows) {
        if (!row) continue;
        const answer = answerTest(configOf(row), event);
        io.out(
          `v${row.version} (${row.status}): rule ${answer.rule} (line ${answer.line}) -> ${answer.role} in ${answer.channel}, severity ${answer.severity}, claim ${answer.sla.claim}, resolve ${answer.sla.resolve}, pipeline ${answer.pipeline ? `${answer.pipeline.name} (budget ${answer.pipeline.budget}, freshness ${answer.pipeline.freshness})` : "none"}`,
        );
      }
      return 0;
    }
    case "propose": {
      const [file] = args;
      if (!file || !options.reason?.trim()) return usage(io, USAGE);
      const text = await readFile(file, "utf8");
      return report(
        io,
        await proposeChange(deps, {
          text,
          author: options.actor,
          reason: options.reason,
          via: "cli",
          fileName: file,
        }),
      );
    }
    case "rollback": {
      const version = Number(args[0]);
      if (!Number.isInteger(version) || version <= 0 || !options.reason?.trim())
        return usage(io, USAGE);
      if (options["break-glass"]) {
        const result = await breakGlassRollback(deps, {
          toVersion: version,
          actor: options.actor,
          reason: options.reason,
          via: "cli",
          tokenVerified: options.token === "verified",
        });
        if (!result.ok && options.token !== "verified")
          return fail(io, TOKEN_REFUSALS[options.token]);
        if (!result.ok) return fail(io, result.message);
        io.out(
          `BREAK-GLASS: v${result.row.version} (text of v${version}) is active now; flagged in the audit.`,
        );
        if (result.moved.length)
          io.out(`${result.moved.length} open exception(s) moved to new roles.`);
        return 0;
      }
      return report(
        io,
        await proposeRollback(deps, {
          toVersion: version,
          author: options.actor,
          reason: options.reason,
          via: "cli",
        }),
      );
    }
    default:
      return usage(io, USAGE);
  }
}

function report(io: CliOutput, result: ProposeResult): number {
  if (result.ok) {
    io.out(`proposed v${result.row.version}; approve or reject it in Slack.`);
    printReview(io, result.review);
    return 0;
  }
  if (result.kind === "invalid") {
    io.err(`refused: ${result.errors.length} problem(s)`);
    for (const issue of result.errors) io.err(`  ${formatProposalIssue(issue)}`);
    for (const issue of result.warnings) io.err(`  warning: ${formatProposalIssue(issue)}`);
    return 1;
  }
  return fail(io, result.message);
}

function printReview(io: CliOutput, review: ReviewSnapshot): void {
  io.out(`against v${review.baseVersion}:`);
  for (const change of diffLines(review.diff)) io.out(`  ${change}`);
  const { preview } = review;
  io.out(
    `last ${preview.days} days: ${preview.moved} of ${preview.total} exceptions would route to another role`,
  );
  for (const pair of preview.pairs) io.out(`  ${pair.from} -> ${pair.to}: ${pair.count}`);
  for (const move of review.orphans.moves)
    io.out(`open exceptions of removed ${move.from} (${move.open}) move to ${move.to}`);
  for (const blocked of review.orphans.blocked)
    io.out(
      `BLOCKED: removed ${blocked.role} still owns ${blocked.open} open exception(s); add reassign: { ${blocked.role}: <role> }`,
    );
  for (const warning of review.warnings) io.out(`warning: ${formatProposalIssue(warning)}`);
  io.out(
    `approvers: an admin${review.affectedRoles.length ? ` or a manager of ${review.affectedRoles.join(", ")}` : ""}, not the proposer`,
  );
}

function line(row: VersionRow): string {
  const flags = [
    row.rollbackOf !== null ? `rollback of v${row.rollbackOf}` : "",
    row.breakGlass ? "BREAK-GLASS" : "",
  ].filter(Boolean);
  const decided = row.decidedBy
    ? ` decided by ${row.decidedBy} ${row.decidedAt?.toISOString() ?? ""}`
    : "";
  return `v${row.version} ${row.status.padEnd(10)} by ${row.author} via ${row.source} ${row.createdAt.toISOString()}${decided}${flags.length ? ` [${flags.join(", ")}]` : ""}: ${row.reason}`;
}
