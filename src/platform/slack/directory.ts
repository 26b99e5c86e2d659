/**
 * Who is in a Slack user group, cached briefly: a click must be answered within 3 seconds and
 * usergroups.users.list is a Tier 2 method. Where the workspace's plan has no user groups the
 * group simply adds nobody, and the role's listed members still count.
 *
 * And people's names for plain-text places (modal options, "held by …"), where `<@U…>` is not
 * drawn: users.info, cached for an hour, bounded in time so a slow Slack never costs a modal
 * its 3-second trigger (the ID stands in then, and is not cached).
 */
import type { WebClient } from "@slack/web-api";
import type { Logger } from "../logger.js";

export interface Directory {
  usergroupMembers(usergroupId: string): Promise<Set<string>>;
  /** The person's name (real name, else handle); the ID when Slack does not say in time. */
  displayName(userId: string): Promise<string>;
}

const NAME_TTL_MS = 60 * 60_000;
const NAME_LOOKUP_MS = 1000;
const MAX_NAMES = 5000;

export function createDirectory(slack: WebClient, logger: Logger, ttlMs = 60_000): Directory {
  const cache = new Map<string, { at: number; members: Promise<Set<string>> }>();
  const names = new Map<string, { at: number; name: string }>();
  return {
    async displayName(userId) {
      const hit = names.get(userId);
      if (hit && Date.now() - hit.at < NAME_TTL_MS) return hit.name;
      const lookup = slack.users
        .info({ user: userId })
        .then((answer) => {
          const name = answer.user?.real_name || answer.user?.name;
          if (!name) return userId;
          if (names.size >= MAX_NAMES) names.delete(names.keys().next().value as string);
          names.set(userId, { at: Date.now(), name });
          return name;
        })
        .catch((error: unknown) => {
          logger.debug({ userId, err: error }, "users.info failed; showing the ID");
          return userId;
        });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<string>((resolve) => {
        timer = setTimeout(resolve, NAME_LOOKUP_MS, userId);
        timer.unref();
      });
      try {
        return await Promise.race([lookup, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    usergroupMembers(usergroupId) {
      const hit = cache.get(usergroupId);
      if (hit && Date.now() - hit.at < ttlMs) return hit.members;
      const members = slack.usergroups.users
        .list({ usergroup: usergroupId })
        .then((response) => new Set(response.users ?? []))
        .catch((error: unknown) => {
          logger.warn(
            { usergroupId, err: error },
            "could not read user group; counting listed members only",
          );
          cache.delete(usergroupId);
          return new Set<string>();
        });
      cache.set(usergroupId, { at: Date.now(), members });
      return members;
    },
  };
}

/**
 * A mrkdwn sentence for a plain-text place (a modal's field error): bold markers dropped and
 * every `<@U…>` replaced by the person's name, so nobody reads "held by U0ALICE".
 */
export async function plainWithNames(
  directory: Pick<Directory, "displayName">,
  text: string,
): Promise<string> {
  const ids = [...new Set([...text.matchAll(/<@([UW][A-Z0-9]+)>/g)].map((m) => m[1] as string))];
  const names = new Map(
    await Promise.all(ids.map(async (id) => [id, await directory.displayName(id)] as const)),
  );
  return text
    .replaceAll("*", "")
    .replace(/<@([UW][A-Z0-9]+)>/g, (_all, id: string) => names.get(id) ?? id);
}
