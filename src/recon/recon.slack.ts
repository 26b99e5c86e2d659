/**
 * `/inventory recon [client]` (the latest runs and refused snapshots) and
 * `/inventory recon run <client>` (managers of the client's owner role and admins: queues a run
 * now; its report goes to the owner's channel like any other). Called by the inventory command.
 */
import { sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { standingIn } from "../exceptions/authorization.js";
import { escapeMrkdwn, mention, safeText, slackDate, truncate } from "../platform/slack/mrkdwn.js";
import { ownerChannel } from "./owner-channel.js";
import { enqueueRecon } from "./recon-jobs.schema.js";
import { latestRejections } from "./snapshots.job.js";

const LISTED_RUNS = 10;

export async function reconAnswer(
  deps: Deps,
  command: { run: boolean; client?: string },
  userId: string,
): Promise<string> {
  const { config } = deps.routing.current();
  if (command.client !== undefined && !config.clients[command.client]) {
    const known = Object.keys(config.clients).sort();
    return `No client \`${escapeMrkdwn(command.client)}\` in the routing file.${known.length ? ` Clients: ${known.map((c) => `\`${escapeMrkdwn(c)}\``).join(", ")}.` : ""}`;
  }
  if (command.run && command.client) return startRun(deps, command.client, userId);
  return listRuns(deps, command.client ?? null);
}

async function startRun(deps: Deps, client: string, userId: string): Promise<string> {
  const { config } = deps.routing.current();
  const owner = config.clients[client]?.owner ?? "";
  const admin = config.admins.includes(userId);
  const { standing } = await standingIn(deps, owner, userId);
  if (!admin && standing !== "manager") {
    deps.logger.info({ userId, client }, "recon run refused: not a manager of the owner role");
    return `Only managers of ${escapeMrkdwn(owner)} (${escapeMrkdwn(client)}'s owner) and admins may start a reconciliation.`;
  }
  await enqueueRecon(deps.queues, "recon.run", { client, startedBy: userId });
  const channel = ownerChannel(config, client);
  return `:hourglass_flowing_sand: Reconciliation of ${escapeMrkdwn(client)} started by ${mention(userId)}; the report goes to <#${channel}>.`;
}

async function listRuns(deps: Deps, client: string | null): Promise<string> {
  const runs = await deps.db.execute<{
    id: number;
    client: string;
    system: string;
    source_system: string;
    outcome: string;
    reason: string | null;
    started_by: string;
    matched: string;
    mismatched: string;
    missing: string;
    unexpected: string;
    abs_delta_sum: string;
    started_at: string | Date;
  }>(sql`
    select id, client, system, source_system, outcome, reason, started_by, matched, mismatched,
      missing, unexpected, abs_delta_sum, started_at
    from recon_runs where ${client}::text is null or client = ${client}
    order by id desc limit ${LISTED_RUNS}`);
  const refused = await latestRejections(deps.db, client, 5);
  const title = `*Reconciliation runs${client ? ` of ${escapeMrkdwn(client)}` : ""}* (latest ${LISTED_RUNS})`;
  if (runs.length === 0 && refused.length === 0) {
    return `${title}\nNone yet. Runs start when a consumer's snapshot and its source of truth's are both in, on schedule, or with \`/inventory recon run <client>\`.`;
  }
  const by = (who: string) => (/^[UW][A-Z0-9]+$/.test(who) ? mention(who) : who);
  const lines = runs.map((run) => {
    const head = `#${run.id} ${slackDate(new Date(run.started_at))} · ${escapeMrkdwn(run.client)} · ${escapeMrkdwn(run.system)} vs ${escapeMrkdwn(run.source_system)}`;
    if (run.outcome === "skipped")
      return `• ${head} · nothing compared: ${safeText(run.reason ?? "", 300)} (${by(run.started_by)})`;
    return `• ${head} · ${run.matched} matched · ${run.mismatched} mismatch · ${run.missing} missing · ${run.unexpected} unexpected · Σ|Δ| ${run.abs_delta_sum} (${by(run.started_by)})`;
  });
  if (refused.length > 0) {
    lines.push("*Refused snapshots*");
    for (const rejection of refused) {
      lines.push(
        `• ${slackDate(new Date(rejection.received_at))} ${truncate(rejection.detail, 400)}`,
      );
    }
  }
  return `${title}\n${lines.join("\n")}`.slice(0, 3900);
}
