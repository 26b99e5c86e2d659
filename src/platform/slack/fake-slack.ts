/**
 * A local stand-in for Slack's Web API, as `@slack/web-api`'s WebClient calls it
 * (`POST <url><method>`, form or JSON body, token as `Authorization: Bearer`). It records every
 * call, keeps channels' messages, threads and views so tests can read what a user would see,
 * checks Block Kit limits on every surface it stores, and injects faults (errors, 5xx, 429).
 * Also plays `response_url`. Used by integration tests and by `npm run demo`.
 *
 * One file on purpose (it is over the usual size): the method handlers share the stores below
 * and read best side by side with them.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type BlockKitSurface, blockKitViolations } from "./block-kit-limits.js";

/** The bot the fake answers `auth.test` for. */
export const FAKE_BOT = {
  userId: "U0SYNCDESK",
  botId: "B0SYNCDESK",
  teamId: "T0TEAM",
  appId: "A0SYNCDESK",
} as const;

type Json = Record<string, unknown>;

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

interface Waiter {
  check: () => boolean;
  fail: (error: Error) => void;
}

const JSON_FIELDS = ["blocks", "attachments", "metadata", "view", "unfurls", "user_auth_blocks"];

const err = (error: string, extra: Json = {}): Json => ({ ok: false, error, ...extra });
const str = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;
const truthy = (value: unknown): boolean => value === true || value === "true" || value === "1";
const compact = (obj: Json): Json =>
  Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
const clone = <T>(value: T): T => structuredClone(value);

/** Slack ts as an exact integer of microseconds (fits in 2^53), for ordering and ranges. */
export function tsMicros(ts: string): number {
  const [sec = "0", frac = ""] = ts.split(".");
  return Number(sec) * 1_000_000 + Number(`${frac}000000`.slice(0, 6));
}

function tzOffsetSec(tz: string, at: Date): number {
  try {
    const name = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "longOffset" })
      .formatToParts(at)
      .find((part) => part.type === "timeZoneName")?.value;
    const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name ?? "");
    if (!m) return 0;
    return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60);
  } catch {
    return 0;
  }
}

export class FakeSlack {
  /** Base URL for WebClient's `slackApiUrl` (ends with `/api/`). */
  url = "";
  /** `http://127.0.0.1:<port>`. */
  origin = "";
  readonly calls: RecordedCall[] = [];
  readonly violations: FakeViolation[] = [];

  private readonly server: Server;
  private readonly opts: FakeSlackOptions;
  private tsSeq = 0;
  private viewSeq = 0;
  private down = false;
  private channels = new Map<string, Json>();
  private users = new Map<string, FakeUser>();
  private usergroups = new Map<string, string[]>();
  private freePlan = false;
  /** Per channel, every message (top-level and replies) in ts order. */
  private history = new Map<string, Json[]>();
  private ephemeralMessages: Json[] = [];
  private views = new Map<string, Json>();
  private homeViews = new Map<string, string>();
  private usedTriggers = new Set<string>();
  private faults = new Map<string, SlackFault[]>();
  private rateLimits = new Map<string, FakeRateLimit>();
  /** GCRA theoretical arrival time per rate-limited method (and channel). */
  private rateTats = new Map<string, number>();
  private responseLog = new Map<string, unknown[]>();
  private waiters = new Set<Waiter>();

  constructor(opts: FakeSlackOptions = {}) {
    this.opts = opts;
    this.seedDirectory();
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(String(error));
      });
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
    this.url = `${this.origin}/api/`;
    return this;
  }

  // ---- reading what happened ----

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Top-level messages of a channel (thread parents included), oldest first, as updated. */
  messages(channel: string): Json[] {
    return this.channelHistory(channel).filter(isTopLevel).map(clone);
  }

  /** Replies in a thread (parent excluded), oldest first. */
  threadReplies(channel: string, threadTs: string): Json[] {
    return this.channelHistory(channel)
      .filter((m) => m.thread_ts === threadTs && m.ts !== threadTs)
      .map(clone);
  }

  /** Ephemeral messages (`chat.postEphemeral`), optionally of one channel and/or user. */
  ephemerals(filter: { channel?: string; user?: string } = {}): Json[] {
    return this.ephemeralMessages
      .filter((m) => (filter.channel ?? m.channel) === m.channel)
      .filter((m) => (filter.user ?? m.user) === m.user)
      .map(clone);
  }

  /** The Home tab last published for a user. */
  lastView(userId: string): Json | undefined {
    const id = this.homeViews.get(userId);
    return id === undefined ? undefined : this.view(id);
  }

  /** A view (modal or home) by id, as last opened, pushed, updated or published. */
  view(viewId: string): Json | undefined {
    const view = this.views.get(viewId);
    return view === undefined ? undefined : clone(view);
  }

  /** The first call (already made or still to come) to `method` that matches `predicate`. */
  waitForCall(
    method: string,
    predicate: (call: RecordedCall) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<RecordedCall> {
    return this.waitFor(
      () => this.calls.find((call) => call.method === method && predicate(call)),
      timeoutMs,
      () => `${method} call; calls so far: ${this.calls.map((c) => c.method).join(", ") || "none"}`,
    );
  }

  /** A URL that records what is POSTed to it, like Slack's `response_url`. */
  responseUrl(id: string = randomBytes(6).toString("hex")): string {
    return `${this.origin}/response/${encodeURIComponent(id)}`;
  }

  responses(id: string): unknown[] {
    return clone(this.responseLog.get(id) ?? []);
  }

  /** The first body POSTed to `responseUrl(id)`, already or still to come. */
  waitForResponse(id: string, timeoutMs = 5000): Promise<unknown> {
    return this.waitFor(
      () => this.responseLog.get(id)?.[0],
      timeoutMs,
      () => `a POST to response url ${id}`,
    );
  }

  // ---- shaping the workspace and faults ----

  /** The next `times` calls to `method` fail as described. Faults queue up in order. */
  failNext(method: string, fault: SlackFault = {}): void {
    const queue = this.faults.get(method) ?? [];
    queue.push({ ...fault, times: fault.times ?? 1 });
    this.faults.set(method, queue);
  }

  /** Drops the faults still queued for `method` (all methods if none given). */
  clearFaults(method?: string): void {
    if (method === undefined) this.faults.clear();
    else this.faults.delete(method);
  }

  /** Enforce a rate limit on `method` as Slack does, until `reset()`. */
  limitRate(method: string, limit: FakeRateLimit): void {
    this.rateLimits.set(method, limit);
  }

  /** While down, every request gets a 503. */
  setDown(down: boolean): void {
    this.down = down;
  }

  setChannel(channel: FakeChannel): void {
    this.channels.set(channel.id, channelInfo(channel));
  }

  setUser(user: FakeUser): void {
    this.users.set(user.id, user);
  }

  setUsergroup(usergroupId: string, userIds: string[]): void {
    this.usergroups.set(usergroupId, [...userIds]);
  }

  setFreePlan(freePlan: boolean): void {
    this.freePlan = freePlan;
  }

  /**
   * Forget calls, messages, views, responses, violations and faults; restore the configured
   * directory. Message ts keep growing, so a ts from before a reset never comes back.
   */
  reset(): void {
    this.calls.length = 0;
    this.violations.length = 0;
    this.history.clear();
    this.ephemeralMessages = [];
    this.views.clear();
    this.homeViews.clear();
    this.usedTriggers.clear();
    this.faults.clear();
    this.rateLimits.clear();
    this.rateTats.clear();
    this.responseLog.clear();
    this.down = false;
    this.seedDirectory();
  }

  async close(): Promise<void> {
    for (const waiter of this.waiters) waiter.fail(new Error("fake Slack closed"));
    this.waiters.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Slack's clock starts when the request arrives, not once its body has been read.
    const at = new Date();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const path = new URL(req.url ?? "/", "http://fake").pathname;
    if (this.down) return send(res, 503, "service unavailable");
    if (req.method !== "POST") return send(res, 405, "method not allowed");

    if (path.startsWith("/response/")) {
      const id = decodeURIComponent(path.slice("/response/".length));
      const body = parseJson(raw);
      if (body === undefined) return send(res, 400, "invalid_payload");
      this.checkBlocks("response_url", id, body, "message");
      this.responseLog.set(id, [...(this.responseLog.get(id) ?? []), body]);
      this.notify();
      return send(res, 200, { ok: true });
    }
    if (!path.startsWith("/api/")) return send(res, 404, "not found");

    const method = path.slice("/api/".length);
    const body = parseBody(raw, req.headers["content-type"]);
    const token = bearer(req.headers.authorization) ?? str(body?.token);
    if (body) delete body.token;
    const fault = this.takeFault(method) ?? this.overRateLimit(method, body, at.getTime());
    let status = 200;
    let reply: Json;
    const headers: Record<string, string> = {};
    if (fault) {
      status = fault.status ?? 200;
      reply = err(fault.error ?? (status === 429 ? "ratelimited" : "fatal_error"));
      if (status === 429) headers["retry-after"] = String(fault.retryAfterSec ?? 1);
    } else if (body === undefined) {
      reply = err("invalid_json");
    } else if (token === undefined) {
      reply = err("not_authed");
    } else if (this.opts.token !== undefined && token !== this.opts.token) {
      reply = err("invalid_auth");
    } else {
      const handler = this.handlers[method];
      reply = handler ? handler(body) : err("unknown_method");
    }
    const call: RecordedCall = { method, body: body ?? {}, at, status };
    if (typeof reply.error === "string") call.error = reply.error;
    this.calls.push(call);
    this.notify();
    send(res, status, reply, headers);
  }

  private takeFault(method: string): SlackFault | undefined {
    const queue = this.faults.get(method);
    const fault = queue?.[0];
    if (!queue || !fault) return undefined;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) queue.shift();
    return fault;
  }

  /** A 429 fault when this call breaks the method's rate limit (GCRA on arrival times). */
  private overRateLimit(
    method: string,
    body: Json | undefined,
    now: number,
  ): SlackFault | undefined {
    const limit = this.rateLimits.get(method);
    if (!limit) return undefined;
    const key = limit.scope === "channel" ? `${method}:${str(body?.channel) ?? ""}` : method;
    const tat = Math.max(this.rateTats.get(key) ?? now, now);
    const early = tat - now - (limit.burst - 1) * limit.intervalMs;
    if (early > 0) return { status: 429, retryAfterSec: Math.max(1, Math.ceil(early / 1000)) };
    this.rateTats.set(key, tat + limit.intervalMs);
    return undefined;
  }

  private waitFor<T>(find: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          const found = find();
          if (found === undefined) return false;
          clearTimeout(timer);
          resolve(clone(found));
          return true;
        },
        fail: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`fake Slack: no ${what()} within ${timeoutMs}ms`));
      }, timeoutMs);
      if (!waiter.check()) this.waiters.add(waiter);
    });
  }

  private notify(): void {
    for (const waiter of this.waiters) if (waiter.check()) this.waiters.delete(waiter);
  }

  // ---- stores ----

  private seedDirectory(): void {
    this.channels = new Map((this.opts.channels ?? []).map((c) => [c.id, channelInfo(c)]));
    this.users = new Map((this.opts.users ?? []).map((u) => [u.id, u]));
    this.usergroups = new Map(Object.entries(this.opts.usergroups ?? {}));
    this.freePlan = this.opts.freePlan ?? false;
  }

  private nextTs(): string {
    const first = this.opts.firstTsSec;
    this.tsSeq =
      first === undefined
        ? Math.max(this.tsSeq + 1, Date.now() * 1000)
        : Math.max(this.tsSeq, first * 1_000_000) + 100;
    const sec = Math.floor(this.tsSeq / 1_000_000);
    return `${sec}.${String(this.tsSeq % 1_000_000).padStart(6, "0")}`;
  }

  private channelHistory(channel: string): Json[] {
    return this.history.get(channel) ?? [];
  }

  private findMessage(channel: string, ts: unknown): Json | undefined {
    return this.channelHistory(channel).find((m) => m.ts === ts);
  }

  /** A user id posts to their DM; a `#name` or known name maps to its id. */
  private resolveChannel(value: unknown): string | undefined {
    const channel = str(value);
    if (channel === undefined) return undefined;
    if (/^[UW][A-Z0-9]+$/.test(channel)) return this.openDm([channel]);
    if (/^[CDG][A-Z0-9]+$/.test(channel)) return channel;
    const name = channel.replace(/^#/, "");
    return [...this.channels.values()].find((c) => c.name === name)?.id as string | undefined;
  }

  private openDm(userIds: string[]): string {
    const id = dmId(userIds);
    if (!this.channels.has(id)) {
      const single = userIds.length === 1;
      this.channels.set(id, {
        id,
        created: 1_600_000_000,
        is_im: single,
        is_mpim: !single,
        is_open: true,
        ...(single ? { user: userIds[0] } : { is_group: true }),
      });
    }
    return id;
  }

  private checkBlocks(method: string, target: string, payload: Json, surface: BlockKitSurface) {
    for (const problem of blockKitViolations(payload, surface)) {
      this.violations.push({ method, target, problem });
    }
  }

  private storeView(method: string, body: Json, existing?: Json): Json | string {
    const view = body.view;
    if (typeof view !== "object" || view === null) return "invalid_arguments";
    const v = view as Json;
    this.viewSeq += 1;
    const id = (existing?.id as string) ?? `V${String(this.viewSeq).padStart(10, "0")}`;
    const stored: Json = {
      team_id: FAKE_BOT.teamId,
      private_metadata: "",
      callback_id: "",
      external_id: "",
      clear_on_close: false,
      notify_on_close: false,
      previous_view_id: null,
      root_view_id: existing?.root_view_id ?? id,
      app_id: FAKE_BOT.appId,
      app_installed_team_id: FAKE_BOT.teamId,
      bot_id: FAKE_BOT.botId,
      ...v,
      id,
      state: { values: {} },
      hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString("hex")}`,
    };
    const surface: BlockKitSurface = stored.type === "home" ? "home" : "modal";
    this.checkBlocks(method, id, stored, surface);
    this.views.set(id, stored);
    return stored;
  }

  // ---- Web API methods ----

  private readonly handlers: Record<string, (body: Json) => Json> = {
    "auth.test": () => ({
      ok: true,
      url: "https://fake.slack.test/",
      team: "syncdesk test",
      user: "syncdesk",
      team_id: FAKE_BOT.teamId,
      user_id: FAKE_BOT.userId,
      bot_id: FAKE_BOT.botId,
      is_enterprise_install: false,
    }),

    "chat.postMessage": (b) => {
      const channel = this.resolveChannel(b.channel);
      if (channel === undefined) return err("channel_not_found");
      const invalid = invalidContent(b);
      if (invalid) return err(invalid);
      const ts = this.nextTs();
      const threadTs = str(b.thread_ts);
      this.checkBlocks("chat.postMessage", `${channel}/${ts}`, b, "message");
      const message = compact({
        type: "message",
        subtype: threadTs && truthy(b.reply_broadcast) ? "thread_broadcast" : undefined,
        user: FAKE_BOT.userId,
        bot_id: FAKE_BOT.botId,
        app_id: FAKE_BOT.appId,
        team: FAKE_BOT.teamId,
        text: typeof b.text === "string" ? b.text : "",
        blocks: b.blocks,
        attachments: b.attachments,
        metadata: b.metadata,
        username: b.username,
        thread_ts: threadTs,
        ts,
      });
      const parent = threadTs ? this.findMessage(channel, threadTs) : undefined;
      if (parent) {
        const replyUsers = new Set([...((parent.reply_users as string[]) ?? []), FAKE_BOT.userId]);
        Object.assign(parent, {
          thread_ts: parent.ts,
          reply_count: Number(parent.reply_count ?? 0) + 1,
          reply_users: [...replyUsers],
          reply_users_count: replyUsers.size,
          latest_reply: ts,
        });
      }
      this.history.set(channel, [...this.channelHistory(channel), message]);
      return { ok: true, channel, ts, message: clone(message) };
    },

    "chat.update": (b) => {
      const channel = this.resolveChannel(b.channel);
      const message = channel === undefined ? undefined : this.findMessage(channel, b.ts);
      if (channel === undefined) return err("channel_not_found");
      if (!message) return err("message_not_found");
      const invalid = invalidContent({ text: "kept", ...b });
      if (invalid) return err(invalid);
      for (const field of ["text", "blocks", "attachments", "metadata"]) {
        if (b[field] !== undefined) message[field] = b[field];
      }
      message.edited = { user: FAKE_BOT.userId, ts: this.nextTs() };
      this.checkBlocks("chat.update", `${channel}/${message.ts}`, message, "message");
      return { ok: true, channel, ts: message.ts, text: message.text, message: clone(message) };
    },

    "chat.delete": (b) => {
      const channel = this.resolveChannel(b.channel);
      const message = channel === undefined ? undefined : this.findMessage(channel, b.ts);
      if (channel === undefined || !message) return err("message_not_found");
      this.history.set(
        channel,
        this.channelHistory(channel).filter((m) => m !== message),
      );
      if (!isTopLevel(message)) {
        const parent = this.findMessage(channel, message.thread_ts);
        if (parent) parent.reply_count = Math.max(0, Number(parent.reply_count ?? 1) - 1);
      }
      return { ok: true, channel, ts: message.ts };
    },

    "chat.postEphemeral": (b) => {
      const channel = this.resolveChannel(b.channel);
      if (channel === undefined) return err("channel_not_found");
      if (str(b.user) === undefined) return err("user_not_in_channel");
      const invalid = invalidContent(b);
      if (invalid) return err(invalid);
      const ts = this.nextTs();
      this.checkBlocks("chat.postEphemeral", `${channel}/${ts}`, b, "message");
      this.ephemeralMessages.push(
        compact({
          channel,
          user: b.user,
          ts,
          text: b.text ?? "",
          blocks: b.blocks,
          attachments: b.attachments,
          thread_ts: str(b.thread_ts),
        }),
      );
      return { ok: true, message_ts: ts };
    },

    "chat.getPermalink": (b) => {
      const channel = this.resolveChannel(b.channel);
      const message = channel === undefined ? undefined : this.findMessage(channel, b.message_ts);
      if (channel === undefined) return err("channel_not_found");
      if (!message) return err("message_not_found");
      const ts = String(message.ts);
      const thread =
        message.thread_ts && message.thread_ts !== ts
          ? `?thread_ts=${message.thread_ts}&cid=${channel}`
          : "";
      const permalink = `https://fake.slack.test/archives/${channel}/p${ts.replace(".", "")}${thread}`;
      return { ok: true, channel, permalink };
    },

    "conversations.open": (b) => {
      const users = (str(b.users) ?? "").split(",").filter(Boolean);
      if (users.length === 0) return err("users_list_not_supplied");
      const existed = this.channels.has(dmId(users));
      const id = this.openDm(users);
      const channel = truthy(b.return_im) ? clone(this.channels.get(id)) : { id };
      return { ok: true, ...(existed ? { no_op: true, already_open: true } : {}), channel };
    },

    "conversations.info": (b) => {
      const channel = this.channels.get(String(b.channel));
      return channel ? { ok: true, channel: clone(channel) } : err("channel_not_found");
    },

    "conversations.history": (b) => {
      const channel = String(b.channel);
      if (!this.channels.has(channel) && !this.history.has(channel)) {
        return err("channel_not_found");
      }
      const inclusive = truthy(b.inclusive);
      const oldest = str(b.oldest) ? tsMicros(String(b.oldest)) : Number.NEGATIVE_INFINITY;
      const latest = str(b.latest) ? tsMicros(String(b.latest)) : Number.POSITIVE_INFINITY;
      const inRange = (m: Json) => {
        const t = tsMicros(String(m.ts));
        return inclusive ? t >= oldest && t <= latest : t > oldest && t < latest;
      };
      const all = this.channelHistory(channel)
        .filter((m) => isTopLevel(m) || m.subtype === "thread_broadcast")
        .filter(inRange)
        .reverse();
      const limit = Math.min(Number(b.limit ?? 100) || 100, 999);
      const offset = str(b.cursor)
        ? Number(Buffer.from(String(b.cursor), "base64").toString().slice(7))
        : 0;
      const page = all.slice(offset, offset + limit);
      const hasMore = offset + limit < all.length;
      const nextCursor = hasMore ? Buffer.from(`offset:${offset + limit}`).toString("base64") : "";
      return {
        ok: true,
        messages: page.map((m) => withoutMetadataUnless(m, truthy(b.include_all_metadata))),
        has_more: hasMore,
        pin_count: 0,
        channel_actions_ts: null,
        channel_actions_count: 0,
        response_metadata: { next_cursor: nextCursor },
      };
    },

    "conversations.replies": (b) => {
      const channel = String(b.channel);
      const parent = this.findMessage(channel, b.ts);
      if (!parent) return err("thread_not_found");
      const thread = [parent, ...this.threadReplies(channel, String(parent.ts))];
      const metadata = truthy(b.include_all_metadata);
      return {
        ok: true,
        messages: thread.map((m) => withoutMetadataUnless(m, metadata)),
        has_more: false,
        response_metadata: { next_cursor: "" },
      };
    },

    "users.info": (b) => {
      const id = String(b.user ?? "");
      const known = this.users.get(id);
      if (!known && !/^[UW][A-Z0-9]+$/.test(id)) return err("user_not_found");
      const tz = known?.tz ?? this.opts.defaultTz ?? "UTC";
      const name = known?.name ?? id.toLowerCase();
      const realName = known?.real_name ?? `User ${id}`;
      return {
        ok: true,
        user: {
          id,
          team_id: FAKE_BOT.teamId,
          name,
          real_name: realName,
          deleted: false,
          is_bot: false,
          is_admin: false,
          tz,
          tz_label: tz,
          tz_offset: tzOffsetSec(tz, new Date()),
          profile: { real_name: realName, display_name: name },
          ...known,
        },
      };
    },

    "usergroups.users.list": (b) => {
      if (this.freePlan) return err("plan_upgrade_required");
      const users = this.usergroups.get(String(b.usergroup));
      return users ? { ok: true, users: [...users] } : err("no_such_subteam");
    },

    "views.open": (b) => this.openView(b, "views.open"),
    "views.push": (b) => this.openView(b, "views.push"),

    "views.update": (b) => {
      const existing =
        this.views.get(String(b.view_id)) ??
        [...this.views.values()].find((v) => str(b.external_id) && v.external_id === b.external_id);
      if (!existing) return err("not_found");
      if (str(b.hash) && b.hash !== existing.hash) return err("hash_conflict");
      const view = this.storeView("views.update", b, existing);
      return typeof view === "string" ? err(view) : { ok: true, view: clone(view) };
    },

    "views.publish": (b) => {
      const userId = str(b.user_id);
      if (userId === undefined) return err("invalid_arguments");
      const existingId = this.homeViews.get(userId);
      const existing = existingId === undefined ? undefined : this.views.get(existingId);
      if (existing && str(b.hash) && b.hash !== existing.hash) return err("hash_conflict");
      const view = this.storeView("views.publish", b, existing);
      if (typeof view === "string") return err(view);
      this.homeViews.set(userId, String(view.id));
      return { ok: true, view: clone(view) };
    },
  };

  private openView(b: Json, method: string): Json {
    const trigger = str(b.trigger_id);
    if (trigger === undefined) return err("invalid_arguments");
    if (this.usedTriggers.has(trigger)) return err("exchanged_trigger_id");
    const view = this.storeView(method, b);
    if (typeof view === "string") return err(view);
    this.usedTriggers.add(trigger);
    return { ok: true, view: clone(view) };
  }
}

/** Starts a fake Slack on 127.0.0.1 with a free port; `close()` it when done. */
/**
 * A bot token for one run against the stand-in (demo, benches): made up afresh each run, in
 * the shape `src/env.ts` requires, so no token-like literal sits in the repository.
 */
export function standInBotToken(): string {
  return `xoxb-${randomBytes(12).toString("hex")}`;
}

export async function startFakeSlack(opts?: FakeSlackOptions): Promise<FakeSlack> {
  return new FakeSlack(opts).listen();
}

/** `D<user>` for one user, `G<users>` for a group DM. */
function dmId(userIds: string[]): string {
  return userIds.length === 1 ? `D${userIds[0]}` : `G${[...userIds].sort().join("")}`;
}

function isTopLevel(m: Json): boolean {
  return m.thread_ts === undefined || m.thread_ts === m.ts;
}

function withoutMetadataUnless(m: Json, includeMetadata: boolean): Json {
  const copy = clone(m);
  if (!includeMetadata) delete copy.metadata;
  return copy;
}

function invalidContent(b: Json): string | undefined {
  if (b.blocks !== undefined && !Array.isArray(b.blocks)) return "invalid_blocks";
  if (b.attachments !== undefined && !Array.isArray(b.attachments)) return "invalid_attachments";
  const hasBlocks = Array.isArray(b.blocks) && b.blocks.length > 0;
  if (!str(b.text) && !hasBlocks && !Array.isArray(b.attachments)) return "no_text";
  const m = b.metadata;
  if (m !== undefined) {
    const valid =
      typeof m === "object" &&
      m !== null &&
      typeof (m as Json).event_type === "string" &&
      typeof (m as Json).event_payload === "object";
    if (!valid) return "invalid_metadata_format";
  }
  return undefined;
}

function channelInfo(c: FakeChannel): Json {
  const name = c.name ?? c.id.toLowerCase();
  return {
    is_channel: !c.id.startsWith("D"),
    is_group: false,
    is_im: c.id.startsWith("D"),
    is_mpim: false,
    is_private: false,
    is_archived: false,
    is_general: false,
    is_member: true,
    created: 1_600_000_000,
    creator: "U0CREATOR",
    name_normalized: name,
    ...c,
    name,
  };
}

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return m?.[1];
}

function parseJson(raw: string): Json | undefined {
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Json)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Form or JSON body as WebClient sends it, with JSON-stringified fields decoded. */
function parseBody(raw: string, contentType: string | undefined): Json | undefined {
  const body = contentType?.startsWith("application/json")
    ? parseJson(raw || "{}")
    : (Object.fromEntries(new URLSearchParams(raw)) as Json);
  if (body === undefined) return undefined;
  for (const field of JSON_FIELDS) {
    const value = body[field];
    if (typeof value !== "string") continue;
    try {
      body[field] = JSON.parse(value);
    } catch {
      // Left as a string: the handler answers invalid_blocks / invalid_arguments as Slack does.
    }
  }
  return body;
}

function send(
  res: ServerResponse,
  status: number,
  body: Json | string,
  headers: Record<string, string> = {},
): void {
  const json = typeof body !== "string";
  res.writeHead(status, {
    "content-type": json ? "application/json; charset=utf-8" : "text/plain",
    ...headers,
  });
  res.end(json ? JSON.stringify(body) : body);
}
