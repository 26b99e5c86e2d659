/** The shapes the Slack stand-in takes and records (see fake-slack.ts). */
/** The bot the fake answers `auth.test` for. */
export const FAKE_BOT = {
  userId: "U0SYNCDESK",
  botId: "B0SYNCDESK",
  teamId: "T0TEAM",
  appId: "A0SYNCDESK",
} as const;

export type Json = Record<string, unknown>;

export interface FakeChannel {
  id: string;
  name?: string;
  is_private?: boolean;
  is_member?: boolean;
  is_archived?: boolean;
  [field: string]: unknown;
}

export interface FakeUser {
  id: string;
  name?: string;
  real_name?: string;
  /** IANA zone, e.g. "Europe/Berlin"; `tz_offset` is derived from it. */
  tz?: string;
  is_bot?: boolean;
  deleted?: boolean;
  [field: string]: unknown;
}

export interface FakeSlackOptions {
  /** Channels `conversations.info` knows (DMs opened through the fake are added). */
  channels?: FakeChannel[];
  /** Users `users.info` knows; other `U…`/`W…` ids get a generated user in `defaultTz`. */
  users?: FakeUser[];
  defaultTz?: string;
  /** usergroup id -> member user ids, for `usergroups.users.list`. */
  usergroups?: Record<string, string[]>;
  /** A free workspace: `usergroups.*` answers `plan_upgrade_required`. */
  freePlan?: boolean;
  /** When set, any other token gets `invalid_auth` (a missing one always gets `not_authed`). */
  token?: string;
  /**
   * Message timestamps follow the wall clock, as Slack's do (a range read with `oldest` finds
   * what was posted after a moment). Set to start them at a fixed second instead, each message
   * 100µs after the last, for figures that must not depend on when a test runs.
   */
  firstTsSec?: number;
}

export interface RecordedCall {
  method: string;
  /** Parsed body; JSON fields (`blocks`, `metadata`, `view`, ...) decoded; `token` removed. */
  body: Json;
  at: Date;
  status: number;
  /** The `error` the fake answered with, if any. */
  error?: string;
}

export interface SlackFault {
  /** Answer 200 `{ ok: false, error }` (or this error with `status`). */
  error?: string;
  /** HTTP status, e.g. 500, 503, or 429 (sent with `Retry-After`). */
  status?: number;
  /** `Retry-After` for 429, default 1. */
  retryAfterSec?: number;
  /** How many calls fail, default 1; `Infinity` until `reset()`. */
  times?: number;
}

/** Slack's own rate limit on a method, enforced on arrival: over it, a 429 with Retry-After. */
export interface FakeRateLimit {
  /** Sustained spacing between calls. */
  intervalMs: number;
  /** Calls allowed back to back before the spacing applies (>= 1). */
  burst: number;
  /** "channel": one allowance per `channel` argument, as Slack counts chat.postMessage. */
  scope: "channel" | "workspace";
}

export interface FakeViolation {
  method: string;
  /** Channel and ts, view id or response id the payload was for. */
  target: string;
  problem: string;
}
