/**
 * Links to cards. A permalink is the workspace URL plus channel and message ts, so lists build
 * them locally from one cached `auth.test` instead of a `chat.getPermalink` call per line.
 */
import type { WebClient } from "@slack/web-api";
import type { Logger } from "../platform/logger.js";

/** Turns a card's channel and ts into a link, or null when there is none. */
export type Linker = (channel: string, ts: string | null) => string | null;

export function permalink(workspaceUrl: string, channel: string, ts: string): string {
  const base = workspaceUrl.endsWith("/") ? workspaceUrl : `${workspaceUrl}/`;
  return `${base}archives/${channel}/p${ts.replace(".", "")}`;
}

export const noLinks: Linker = () => null;

const workspaceUrls = new WeakMap<WebClient, Promise<string | null>>();

/** A linker for this workspace; without the workspace URL (Slack unreachable) lines go unlinked. */
export async function linkerFor(deps: { slack: WebClient; logger: Logger }): Promise<Linker> {
  let url = workspaceUrls.get(deps.slack);
  if (!url) {
    url = deps.slack.auth
      .test()
      .then((result) => result.url ?? null)
      .catch((error: unknown) => {
        deps.logger.warn({ err: error }, "auth.test failed; answering without card links");
        workspaceUrls.delete(deps.slack);
        return null;
      });
    workspaceUrls.set(deps.slack, url);
  }
  const resolved = await url;
  if (!resolved) return noLinks;
  return (channel, ts) => (ts ? permalink(resolved, channel, ts) : null);
}
