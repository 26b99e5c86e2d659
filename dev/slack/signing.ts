/**
 * The client side of Slack's request signing: sends commands, interactions and events to a Bolt
 * app's `POST /slack/events` in Slack's exact wire formats. Bolt verifies; this signs. Used by
 * integration tests and by `npm run demo`, which play the Slack side.
 *
 * Wire details that matter: form bodies go out as a string with
 * `content-type: application/x-www-form-urlencoded` and no charset (Bolt only parses that exact
 * header), and the signature covers the exact bytes sent.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { AddressInfo, Server } from "node:net";
import type {
  BlockActionInput,
  CommandInput,
  EventOptions,
  SendOptions,
  SlackResponse,
  SlackTarget,
  ViewInput,
  ViewSubmissionInput,
} from "./signing.types.js";

export type * from "./signing.types.js";

export interface SlackSignatureHeaders {
  "x-slack-signature": string;
  "x-slack-request-timestamp": string;
}

/** `v0=` + hex HMAC-SHA256(secret, `v0:<ts>:<body>`), as Slack signs every request. */
export function signSlackRequest(
  secret: string,
  body: string,
  timestampSec: number,
): SlackSignatureHeaders {
  const digest = createHmac("sha256", secret).update(`v0:${timestampSec}:${body}`).digest("hex");
  return { "x-slack-signature": `v0=${digest}`, "x-slack-request-timestamp": String(timestampSec) };
}

const DEFAULTS = { teamId: "T0TEAM", teamDomain: "syncdesk-test", apiAppId: "A0SYNCDESK" };
/** Slack's deprecated verification token, still present in every payload. */
const VERIFICATION_TOKEN = "fake-verification-token";
const FORM = "application/x-www-form-urlencoded";

const team = (t: SlackTarget) => ({
  id: t.teamId ?? DEFAULTS.teamId,
  domain: t.teamDomain ?? DEFAULTS.teamDomain,
});
const apiAppId = (t: SlackTarget) => t.apiAppId ?? DEFAULTS.apiAppId;
const userName = (userId: string, name?: string) => name ?? userId.toLowerCase();
const channelName = (channelId: string) =>
  channelId.startsWith("D") ? "directmessage" : channelId.toLowerCase();

/** A trigger id shaped like Slack's (`<digits>.<digits>.<hex>`), unique per call. */
export const newTriggerId = (): string =>
  `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(16).toString("hex")}`;

const defaultResponseUrl = (t: SlackTarget): string =>
  t.responseUrl?.() ??
  `https://hooks.slack.test/actions/${team(t).id}/${Date.now()}/${randomBytes(12).toString("hex")}`;

/** `http://127.0.0.1:<port>` of a listening server, e.g. the one `await app.start(0)` returns. */
export function serverUrl(server: Server): string {
  const address = server.address() as AddressInfo | string | null;
  if (address === null || typeof address === "string") {
    throw new Error("server is not listening on a TCP port");
  }
  const host = ["::", "0.0.0.0", "::1"].includes(address.address) ? "127.0.0.1" : address.address;
  return `http://${host}:${address.port}`;
}

/** Sends `body` signed, with the content type given, exactly as Slack would. */
export async function sendSigned(
  target: SlackTarget,
  body: string,
  contentType: string,
  opts: SendOptions = {},
): Promise<SlackResponse> {
  const timestampSec = opts.timestampSec ?? target.nowSec?.() ?? Math.floor(Date.now() / 1000);
  const signed = signSlackRequest(opts.signingSecret ?? target.signingSecret, body, timestampSec);
  const headers: Record<string, string> = {
    "content-type": contentType,
    ...signed,
    ...(opts.signature !== undefined ? { "x-slack-signature": opts.signature } : {}),
    ...opts.headers,
  };
  // A string body: fetch would append `;charset=UTF-8` to a URLSearchParams body and Bolt 400s.
  const res = await fetch(new URL(target.path ?? "/slack/events", target.url), {
    method: "POST",
    headers,
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text, json: parseJson(text) };
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A slash command: form fields, as Slack posts them. */
export function sendCommand(
  target: SlackTarget,
  input: CommandInput,
  opts?: SendOptions,
): Promise<SlackResponse> {
  const teamId = input.teamId ?? team(target).id;
  const form = new URLSearchParams({
    token: VERIFICATION_TOKEN,
    team_id: teamId,
    team_domain: team(target).domain,
    channel_id: input.channelId,
    channel_name: input.channelName ?? channelName(input.channelId),
    user_id: input.userId,
    user_name: userName(input.userId, input.userName),
    command: input.command,
    text: input.text ?? "",
    api_app_id: apiAppId(target),
    is_enterprise_install: "false",
    response_url: input.responseUrl ?? defaultResponseUrl(target),
    trigger_id: input.triggerId ?? newTriggerId(),
  });
  return sendSigned(target, form.toString(), FORM, opts);
}

/** Interactivity: one form field `payload` holding the JSON. */
export function sendInteraction(
  target: SlackTarget,
  payload: Record<string, unknown>,
  opts?: SendOptions,
): Promise<SlackResponse> {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return sendSigned(target, body, FORM, opts);
}

const userObject = (target: SlackTarget, userId: string, name?: string) => ({
  id: userId,
  username: userName(userId, name),
  name: userName(userId, name),
  team_id: team(target).id,
});

function viewObject(target: SlackTarget, view: ViewInput, type: "home" | "modal") {
  const id = view.id ?? `V${randomBytes(5).toString("hex").toUpperCase()}`;
  return {
    id,
    team_id: team(target).id,
    type,
    blocks: view.blocks ?? [],
    private_metadata: view.privateMetadata ?? "",
    callback_id: view.callbackId ?? "",
    state: { values: view.values ?? {} },
    hash: view.hash ?? `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString("hex")}`,
    clear_on_close: false,
    notify_on_close: false,
    root_view_id: id,
    previous_view_id: null,
    app_id: apiAppId(target),
    external_id: "",
    app_installed_team_id: team(target).id,
    bot_id: "B0SYNCDESK",
  };
}

/** A `block_actions` interaction: a button (or, via `action`, another element) was used. */
export function sendBlockAction(
  target: SlackTarget,
  input: BlockActionInput,
  opts?: SendOptions,
): Promise<SlackResponse> {
  return sendInteraction(target, blockActionPayload(target, input), opts);
}

/** The `payload` Slack sends for a block action (benches sign and send it their own way). */
export function blockActionPayload(
  target: SlackTarget,
  input: BlockActionInput,
): Record<string, unknown> {
  const actionTs = (Date.now() / 1000).toFixed(6);
  const action = {
    type: "button",
    action_id: input.actionId,
    block_id: input.blockId ?? "actions",
    text: { type: "plain_text", text: "x", emoji: true },
    ...(input.value !== undefined ? { value: input.value } : {}),
    action_ts: actionTs,
    ...input.action,
  };
  const common = {
    type: "block_actions",
    user: userObject(target, input.userId, input.userName),
    api_app_id: apiAppId(target),
    token: VERIFICATION_TOKEN,
    trigger_id: input.triggerId ?? newTriggerId(),
    team: team(target),
    enterprise: null,
    is_enterprise_install: false,
    actions: [action],
  };
  let where: Record<string, unknown>;
  if ("view" in input) {
    // Home tab and modal actions carry the view, no channel, message or response_url.
    const view = viewObject(target, input.view, input.view.type ?? "home");
    where = { container: { type: "view", view_id: view.id }, view };
  } else {
    const channel = { id: input.channelId, name: channelName(input.channelId) };
    const container = {
      type: "message",
      message_ts: input.messageTs,
      channel_id: input.channelId,
      is_ephemeral: input.ephemeral === true,
    };
    // Slack sends no `message` for an ephemeral message: the app never sees its content again.
    const message =
      input.ephemeral === true
        ? {}
        : {
            message: {
              type: "message",
              user: "U0SYNCDESK",
              bot_id: "B0SYNCDESK",
              text: "",
              blocks: [],
              ...input.message,
              ts: input.messageTs,
            },
          };
    where = {
      container,
      channel,
      ...message,
      state: { values: {} },
      response_url: input.responseUrl ?? defaultResponseUrl(target),
    };
  }
  return { ...common, ...where };
}

/** A modal's submit button: `view_submission` with `view.state.values`. */
export function sendViewSubmission(
  target: SlackTarget,
  input: ViewSubmissionInput,
  opts?: SendOptions,
): Promise<SlackResponse> {
  const view = {
    ...viewObject(target, input, "modal"),
    title: { type: "plain_text", text: input.title ?? "syncdesk", emoji: true },
    submit: { type: "plain_text", text: "Submit", emoji: true },
    close: { type: "plain_text", text: "Cancel", emoji: true },
  };
  return sendInteraction(
    target,
    {
      type: "view_submission",
      team: team(target),
      user: userObject(target, input.userId, input.userName),
      api_app_id: apiAppId(target),
      token: VERIFICATION_TOKEN,
      trigger_id: input.triggerId ?? newTriggerId(),
      view,
      response_urls: [],
      enterprise: null,
      is_enterprise_install: false,
    },
    opts,
  );
}

/** An Events API callback (JSON), with Slack's retry headers when `retryNum` is given. */
export async function sendEvent(
  target: SlackTarget,
  event: Record<string, unknown>,
  opts: EventOptions = {},
): Promise<SlackResponse & { eventId: string }> {
  const eventId = opts.eventId ?? `Ev${randomBytes(5).toString("hex").toUpperCase()}`;
  const envelope = {
    token: VERIFICATION_TOKEN,
    team_id: team(target).id,
    api_app_id: apiAppId(target),
    event,
    type: "event_callback",
    event_id: eventId,
    event_time: opts.eventTime ?? Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: team(target).id,
        user_id: "U0SYNCDESK",
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  };
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.retryNum !== undefined) headers["x-slack-retry-num"] = String(opts.retryNum);
  if (opts.retryReason !== undefined) headers["x-slack-retry-reason"] = opts.retryReason;
  const res = await sendSigned(target, JSON.stringify(envelope), "application/json", {
    ...opts,
    headers,
  });
  return { ...res, eventId };
}

/** The same functions bound to one target: `const slack = slackRequester(t); slack.command(...)`. */
export function slackRequester(target: SlackTarget) {
  return {
    target,
    command: (input: CommandInput, opts?: SendOptions) => sendCommand(target, input, opts),
    blockAction: (input: BlockActionInput, opts?: SendOptions) =>
      sendBlockAction(target, input, opts),
    viewSubmission: (input: ViewSubmissionInput, opts?: SendOptions) =>
      sendViewSubmission(target, input, opts),
    event: (event: Record<string, unknown>, opts?: EventOptions) => sendEvent(target, event, opts),
    interaction: (payload: Record<string, unknown>, opts?: SendOptions) =>
      sendInteraction(target, payload, opts),
    raw: (body: string, contentType: string, opts?: SendOptions) =>
      sendSigned(target, body, contentType, opts),
  };
}

export type SlackRequester = ReturnType<typeof slackRequester>;
