/**
 * A local stand-in for Slack's Web API, as `@slack/web-api`'s WebClient calls it
 * (`POST <url><method>`, form or JSON body, token as `Authorization: Bearer`). It records every
 * call, keeps channels' messages, threads and views so tests can read what a user would see,
 * checks Block Kit limits on every surface it stores, and injects faults (errors, 5xx, 429).
 * Also plays `response_url`. Used by integration tests, `npm run demo` and the benches.
 *
 * This file is the HTTP side (faults, rate limits, waiting for a call); the workspace it keeps
 * is in fake-workspace.ts and the Web API methods over it in fake-slack-methods.ts.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  FakeChannel,
  FakeRateLimit,
  FakeSlackOptions,
  FakeUser,
  FakeViolation,
  Json,
  RecordedCall,
  SlackFault,
} from "./fake-slack.types.js";
import {
  bearer,
  channelInfo,
  clone,
  err,
  parseBody,
  parseJson,
  send,
  str,
} from "./fake-slack.wire.js";
import { type WebApiMethod, webApiMethods } from "./fake-slack-methods.js";
import { FakeWorkspace } from "./fake-workspace.js";

export * from "./fake-slack.types.js";
export { tsMicros } from "./fake-slack.wire.js";

interface Waiter {
  check: () => boolean;
  fail: (error: Error) => void;
}

export class FakeSlack {
  /** Base URL for WebClient's `slackApiUrl` (ends with `/api/`). */
  url = "";
  /** `http://127.0.0.1:<port>`. */
  origin = "";
  readonly calls: RecordedCall[] = [];

  private readonly server: Server;
  private readonly opts: FakeSlackOptions;
  private readonly ws: FakeWorkspace;
  private readonly methods: Record<string, WebApiMethod>;
  private down = false;
  private faults = new Map<string, SlackFault[]>();
  private rateLimits = new Map<string, FakeRateLimit>();
  /** GCRA theoretical arrival time per rate-limited method (and channel). */
  private rateTats = new Map<string, number>();
  private responseLog = new Map<string, unknown[]>();
  private waiters = new Set<Waiter>();

  constructor(opts: FakeSlackOptions = {}) {
    this.opts = opts;
    this.ws = new FakeWorkspace(opts);
    this.methods = webApiMethods(this.ws);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(String(error));
      });
    });
  }

  /** Block Kit limits broken by what was posted, updated, opened or published. */
  get violations(): FakeViolation[] {
    return this.ws.violations;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
    this.url = `${this.origin}/api/`;
    this.ws.origin = this.origin;
    return this;
  }

  // ---- reading what happened ----

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Files uploaded through files.uploadV2, by id: name, title and the bytes received. */
  uploadedFiles(): { id: string; filename: string; title?: string; bytes?: Buffer }[] {
    return [...this.ws.uploads.entries()].map(([id, upload]) => ({ id, ...upload }));
  }

  /** Top-level messages of a channel (thread parents included), oldest first, as updated. */
  messages(channel: string): Json[] {
    return this.ws.messages(channel);
  }

  /** Replies in a thread (parent excluded), oldest first. */
  threadReplies(channel: string, threadTs: string): Json[] {
    return this.ws.threadReplies(channel, threadTs);
  }

  /** Ephemeral messages (`chat.postEphemeral`), optionally of one channel and/or user. */
  ephemerals(filter: { channel?: string; user?: string } = {}): Json[] {
    return this.ws.ephemerals(filter);
  }

  /** The Home tab last published for a user. */
  lastView(userId: string): Json | undefined {
    return this.ws.lastView(userId);
  }

  /** A view (modal or home) by id, as last opened, pushed, updated or published. */
  view(viewId: string): Json | undefined {
    return this.ws.view(viewId);
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
    this.ws.channels.set(channel.id, channelInfo(channel));
  }

  setUser(user: FakeUser): void {
    this.ws.users.set(user.id, user);
  }

  setUsergroup(usergroupId: string, userIds: string[]): void {
    this.ws.usergroups.set(usergroupId, [...userIds]);
  }

  setFreePlan(freePlan: boolean): void {
    this.ws.freePlan = freePlan;
  }

  /**
   * Forget calls, messages, views, responses, violations and faults; restore the configured
   * directory. Message ts keep growing, so a ts from before a reset never comes back.
   */
  reset(): void {
    this.calls.length = 0;
    this.ws.clear();
    this.faults.clear();
    this.rateLimits.clear();
    this.rateTats.clear();
    this.responseLog.clear();
    this.down = false;
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
    const bytes = Buffer.concat(chunks);
    const raw = bytes.toString("utf8");
    const path = new URL(req.url ?? "/", "http://fake").pathname;
    if (this.down) return send(res, 503, "service unavailable");
    if (req.method !== "POST") return send(res, 405, "method not allowed");

    if (path.startsWith("/response/")) {
      const id = decodeURIComponent(path.slice("/response/".length));
      const body = parseJson(raw);
      if (body === undefined) return send(res, 400, "invalid_payload");
      this.ws.checkBlocks("response_url", id, body, "message");
      this.responseLog.set(id, [...(this.responseLog.get(id) ?? []), body]);
      this.notify();
      return send(res, 200, { ok: true });
    }
    if (path.startsWith("/upload/")) {
      // The upload URL of files.getUploadURLExternal: takes the bytes, as Slack's does.
      const upload = this.ws.uploads.get(decodeURIComponent(path.slice("/upload/".length)));
      if (!upload) return send(res, 404, "not found");
      upload.bytes = uploadedBytes(bytes, req.headers["content-type"]);
      this.notify();
      return send(res, 200, `OK - ${bytes.length}`);
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
      const handler = this.methods[method];
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
}

/**
 * The file's bytes from an upload: raw, or the first part of a multipart/form-data body (how
 * @slack/web-api sends them; Slack's upload URL takes both).
 */
function uploadedBytes(body: Buffer, contentType: string | undefined): Buffer {
  const boundary = /multipart\/form-data;.*boundary=("?)([^";]+)\1/i.exec(contentType ?? "")?.[2];
  if (!boundary) return body;
  const start = body.indexOf("\r\n\r\n");
  const end = body.indexOf(`\r\n--${boundary}`, start);
  return start < 0 || end < 0 ? body : body.subarray(start + 4, end);
}

/**
 * A bot token for one run against the stand-in (demo, benches): made up afresh each run, in
 * the shape `src/env.ts` requires, so no token-like literal sits in the repository.
 */
export function standInBotToken(): string {
  return `xoxb-${randomBytes(12).toString("hex")}`;
}

/** Starts a fake Slack on 127.0.0.1 with a free port; `close()` it when done. */
export async function startFakeSlack(opts?: FakeSlackOptions): Promise<FakeSlack> {
  return new FakeSlack(opts).listen();
}
