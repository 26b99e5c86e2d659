/**
 * The checks of a proposed routing that ask Slack: channels exist and the bot can post there,
 * people exist and are active, user groups exist. Each problem points at the line that names
 * the ID. A check Slack could not answer is an error too: a proposal is never waved through
 * because Slack was unreachable.
 */
import type { WebClient } from "@slack/web-api";
import type { Logger } from "../platform/logger.js";
import { lineLocator } from "./load.js";
import type { ProposalIssue } from "./review-policy.js";
import type { RoutingConfig } from "./routing-file.schema.js";

const CONCURRENCY = 4;

type Place = (string | number)[];

export async function checkAgainstSlack(
  deps: { slack: WebClient; logger: Logger },
  text: string,
  config: RoutingConfig,
): Promise<{ errors: ProposalIssue[]; warnings: ProposalIssue[] }> {
  const lineOf = lineLocator(text);
  const errors: ProposalIssue[] = [];
  const warnings: ProposalIssue[] = [];
  const at = (place: Place, message: string): ProposalIssue => ({
    line: lineOf(place),
    path: place
      .map((p) => (typeof p === "number" ? `[${p}]` : p))
      .join(".")
      .replaceAll(".[", "["),
    message,
  });

  const channels = new Map<string, Place>();
  const users = new Map<string, Place>();
  const groups = new Map<string, { place: Place; role: string }>();
  const user = (id: string, place: Place) => {
    if (!users.has(id)) users.set(id, place);
  };
  for (const [i, id] of config.admins.entries()) user(id, ["admins", i]);
  for (const role of Object.values(config.roles)) {
    if (!channels.has(role.channel)) channels.set(role.channel, ["roles", role.name, "channel"]);
    for (const [i, id] of role.members.entries()) user(id, ["roles", role.name, "members", i]);
    for (const [i, id] of role.managers.entries()) user(id, ["roles", role.name, "managers", i]);
    if (role.usergroup && !groups.has(role.usergroup))
      groups.set(role.usergroup, { place: ["roles", role.name, "usergroup"], role: role.name });
  }

  const tasks: (() => Promise<void>)[] = [];
  for (const [id, place] of channels) {
    tasks.push(async () => {
      const answer = await call(() => deps.slack.conversations.info({ channel: id }));
      if (!answer.ok) {
        errors.push(
          at(
            place,
            answer.error === "channel_not_found"
              ? `channel ${id} does not exist, or the bot cannot see it (invite the bot to private channels)`
              : `could not check channel ${id}: ${answer.error}`,
          ),
        );
        return;
      }
      const channel = (answer.value.channel ?? {}) as {
        is_archived?: boolean;
        is_member?: boolean;
        is_private?: boolean;
        name?: string;
      };
      const label = channel.name ? `#${channel.name} (${id})` : id;
      if (channel.is_archived) errors.push(at(place, `channel ${label} is archived`));
      else if (!channel.is_member && channel.is_private)
        errors.push(at(place, `the bot is not in private channel ${label}: invite it first`));
      else if (!channel.is_member) {
        const scopes = answer.value.response_metadata?.scopes;
        if (!scopes)
          warnings.push(
            at(
              place,
              `the bot is not in ${label}; it can post there only with the chat:write.public scope`,
            ),
          );
        else if (!scopes.includes("chat:write.public"))
          errors.push(
            at(
              place,
              `the bot is not in ${label} and lacks chat:write.public: invite it to the channel`,
            ),
          );
      }
    });
  }
  for (const [id, place] of users) {
    tasks.push(async () => {
      const answer = await call(() => deps.slack.users.info({ user: id }));
      if (!answer.ok) {
        errors.push(
          at(
            place,
            answer.error === "user_not_found"
              ? `user ${id} does not exist in this workspace`
              : `could not check user ${id}: ${answer.error}`,
          ),
        );
        return;
      }
      const user = (answer.value.user ?? {}) as {
        deleted?: boolean;
        is_bot?: boolean;
        name?: string;
      };
      if (user.deleted) errors.push(at(place, `user ${id} (${user.name ?? "?"}) is deactivated`));
      else if (user.is_bot)
        warnings.push(at(place, `user ${id} is a bot: it cannot click buttons`));
    });
  }
  for (const [id, { place, role }] of groups) {
    tasks.push(async () => {
      const answer = await call(() => deps.slack.usergroups.users.list({ usergroup: id }));
      const listed = config.roles[role]?.members.length ?? 0;
      if (answer.ok) {
        if ((answer.value.users ?? []).length === 0 && listed === 0)
          errors.push(
            at(
              place,
              `user group ${id} is empty and role ${role} lists no members: nobody could claim its cards`,
            ),
          );
        return;
      }
      if (answer.error === "plan_upgrade_required") {
        const issue = at(
          place,
          listed === 0
            ? `this workspace's plan has no user groups, and role ${role} lists no members: nobody could claim its cards`
            : `this workspace's plan has no user groups: ${id} adds nobody; only the listed members count`,
        );
        (listed === 0 ? errors : warnings).push(issue);
      } else if (answer.error === "no_such_subteam" || answer.error === "subteam_not_found")
        errors.push(at(place, `user group ${id} does not exist`));
      else errors.push(at(place, `could not check user group ${id}: ${answer.error}`));
    });
  }
  await runLimited(tasks, CONCURRENCY);
  deps.logger.debug(
    { channels: channels.size, users: users.size, groups: groups.size, errors: errors.length },
    "routing proposal checked against Slack",
  );
  const byLine = (a: ProposalIssue, b: ProposalIssue) => (a.line ?? 0) - (b.line ?? 0);
  return { errors: errors.sort(byLine), warnings: warnings.sort(byLine) };
}

type Answer<T> = { ok: true; value: T } | { ok: false; error: string };

async function call<T>(request: () => Promise<T>): Promise<Answer<T>> {
  try {
    return { ok: true, value: await request() };
  } catch (error) {
    return { ok: false, error: slackErrorCode(error) };
  }
}

/** The `error` of a Slack `ok: false` answer, or what went wrong on the way. */
export function slackErrorCode(error: unknown): string {
  const data = (error as { data?: { error?: unknown } }).data;
  if (typeof data?.error === "string") return data.error;
  return error instanceof Error ? error.message : String(error);
}

async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, tasks.length) }, async () => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<void>;
      await task();
    }
  });
  await Promise.all(lanes);
}
