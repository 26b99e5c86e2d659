/**
 * What the signed-request builders of `signing.ts` take and return: where requests go, the
 * per-request knobs of security tests, and the inputs of commands, clicks, views and events.
 */
/** Where requests go and how the workspace looks. Built once per test file. */
export interface SlackTarget {
  /** Origin of the Bolt receiver, e.g. `http://127.0.0.1:53211` (see `serverUrl`). */
  url: string;
  signingSecret: string;
  /** Defaults to `/slack/events`, Bolt's default endpoint. */
  path?: string;
  teamId?: string;
  teamDomain?: string;
  apiAppId?: string;
  /** Used when an input has no `responseUrl`; e.g. `() => fake.responseUrl()`. */
  responseUrl?: () => string;
  /** Unix seconds for `x-slack-request-timestamp`; defaults to the wall clock Bolt checks against. */
  nowSec?: () => number;
}

/** Per-request knobs for security tests. */
export interface SendOptions {
  /** Sign with this timestamp (e.g. 10 minutes ago: stale). */
  timestampSec?: number;
  /** Sign with another secret: a forged request. */
  signingSecret?: string;
  /** Send this `x-slack-signature` verbatim instead of computing one. */
  signature?: string;
  /** Extra headers (e.g. `x-slack-retry-num`). */
  headers?: Record<string, string>;
}

export interface SlackResponse {
  status: number;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
}

export interface CommandInput {
  command: string;
  text?: string;
  userId: string;
  userName?: string;
  channelId: string;
  channelName?: string;
  teamId?: string;
  responseUrl?: string;
  triggerId?: string;
}

/** Where an action was clicked: a message (channel or DM), an ephemeral message, or a view. */
export type ActionSource =
  | { channelId: string; messageTs: string; message?: Record<string, unknown>; ephemeral?: false }
  | { channelId: string; messageTs: string; ephemeral: true }
  | { view: ViewInput };

export interface ViewInput {
  id?: string;
  type?: "home" | "modal";
  callbackId?: string;
  privateMetadata?: string;
  /** `state.values` shape: `{ [blockId]: { [actionId]: { type, value?, selected_option? } } }`. */
  values?: Record<string, Record<string, Record<string, unknown>>>;
  blocks?: unknown[];
  hash?: string;
}

export type BlockActionInput = ActionSource & {
  userId: string;
  userName?: string;
  actionId: string;
  blockId?: string;
  value?: string;
  /** Merged over the default button action, e.g. `{ type: "static_select", selected_option }`. */
  action?: Record<string, unknown>;
  responseUrl?: string;
  triggerId?: string;
};

export interface ViewSubmissionInput extends Omit<ViewInput, "type"> {
  userId: string;
  userName?: string;
  callbackId: string;
  title?: string;
  triggerId?: string;
}

export interface EventOptions extends SendOptions {
  /** Reuse an id to play Slack's retry of the same event. */
  eventId?: string;
  eventTime?: number;
  retryNum?: number;
  retryReason?: string;
}
