/**
 * What a failed Slack write means for the outbox: try again later (Slack answered no, so
 * nothing was posted), try again but reconcile first (we cannot know whether it was posted),
 * or give up on this row (Slack will never accept it as it is).
 */
import { ErrorCode } from "@slack/web-api";

export type SlackFailure =
  /** Slack answered and did not act (5xx, 429, a transient error code). */
  | { kind: "retry"; code: string; retryAfterMs?: number }
  /** Misconfiguration (token, scopes): retried slowly, logged loudly, never dropped. */
  | { kind: "config"; code: string }
  /** The outcome is unknown (connection lost mid-call, our own write after the call failed). */
  | { kind: "unknown"; code: string }
  /** Slack refuses this message for good. */
  | { kind: "permanent"; code: string };

/** `ok: false` errors that no repeat will fix. */
const PERMANENT = new Set([
  "channel_not_found",
  "not_in_channel",
  "is_archived",
  "msg_too_long",
  "no_text",
  "invalid_blocks",
  "invalid_blocks_format",
  "invalid_attachments",
  "invalid_metadata_format",
  "invalid_metadata_schema",
  "metadata_too_large",
  "too_many_attachments",
  "message_not_found",
  "cant_update_message",
  "edit_window_closed",
  "thread_not_found",
  "cannot_dm_bot",
  "user_not_found",
  "user_disabled",
  "messages_tab_disabled",
  "restricted_action",
  "restricted_action_read_only_channel",
  "restricted_action_thread_only_channel",
  "restricted_action_non_threadable_channel",
  "invalid_arguments",
  "invalid_arg_name",
  "invalid_array_arg",
  "invalid_charset",
  "invalid_form_data",
  "invalid_post_type",
  "missing_post_type",
]);

/** Auth and scope errors: the app is misconfigured, not the message. */
const CONFIG = new Set([
  "not_authed",
  "invalid_auth",
  "account_inactive",
  "token_revoked",
  "token_expired",
  "no_permission",
  "missing_scope",
  "not_allowed_token_type",
  "ekm_access_denied",
  "team_access_not_granted",
]);

export function classifySlackError(error: unknown): SlackFailure {
  const e = error as {
    code?: unknown;
    data?: { error?: unknown };
    retryAfter?: unknown;
    statusCode?: unknown;
  };
  switch (e?.code) {
    case ErrorCode.PlatformError: {
      const code = typeof e.data?.error === "string" ? e.data.error : "unknown_error";
      if (PERMANENT.has(code)) return { kind: "permanent", code };
      if (CONFIG.has(code)) return { kind: "config", code };
      return { kind: "retry", code };
    }
    case ErrorCode.RateLimitedError:
      return {
        kind: "retry",
        code: "ratelimited",
        retryAfterMs: typeof e.retryAfter === "number" ? e.retryAfter * 1000 : undefined,
      };
    case ErrorCode.HTTPError:
      return { kind: "retry", code: `http_${String(e.statusCode ?? "error")}` };
    case ErrorCode.RequestError:
      return { kind: "unknown", code: "request_error" };
    default:
      return { kind: "unknown", code: error instanceof Error ? error.name : "error" };
  }
}
