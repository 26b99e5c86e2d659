/**
 * Who is in a Slack user group, cached briefly: a click must be answered within 3 seconds and
 * usergroups.users.list is a Tier 2 method. Where the workspace's plan has no user groups the
 * group simply adds nobody, and the role's listed members still count.
 */
import type { WebClient } from "@slack/web-api";
import type { Logger } from "../logger.js";

export interface Directory {
  usergroupMembers(usergroupId: string): Promise<Set<string>>;
}

export function createDirectory(slack: WebClient, logger: Logger, ttlMs = 60_000): Directory {
  const cache = new Map<string, { at: number; members: Promise<Set<string>> }>();
  return {
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
