/**
 * The HTTP edge in front of Bolt: every POST to the Slack endpoint is size-limited, its
 * signature and timestamp checked, and its signature remembered so a replay inside the
 * five-minute window is refused. Bolt verifies again behind us; what we add is the body limit
 * before buffering, the replay memory (Bolt has none), future timestamps, and a record of
 * every refusal. Slack's own retries of an event carry a new signature, so they pass here; the
 * one event we take (app_home_opened) only redraws a Home tab, which is harmless twice.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { parse as parseQuery } from "node:querystring";
import type { Logger } from "../platform/logger.js";

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Slack's documented window for `X-Slack-Request-Timestamp`, either side of now. */
export const SIGNATURE_TOLERANCE_SEC = 300;

export type RejectionReason =
  | "missing_signature"
  | "bad_timestamp"
  | "stale"
  | "bad_signature"
  | "replayed"
  | "too_large";

/** What is recorded about a refused request: never its body, never the signature. */
export interface RequestRejection {
  reason: RejectionReason;
  method: string;
  path: string;
  /** The `X-Slack-Request-Timestamp` header as sent (capped), or null. */
  timestamp: string | null;
  remoteAddress: string | null;
  /** `X-Forwarded-For` as sent, when a load balancer stands in front (capped). */
  forwardedFor: string | null;
  /** The `Content-Length` header, or the bytes read when there was none. */
  contentLength: number | null;
  retryNum: string | null;
  userAgent: string | null;
}

export interface RequestGuardOptions {
  signingSecret: string;
  /** Bolt's endpoint; other paths (health, metrics) pass untouched. */
  path?: string;
  maxBodyBytes?: number;
  /**
   * Records a signature; resolves false when it was already recorded (a replay). Throws or
   * times out when the store cannot answer: the request is then refused with 503.
   */
  firstSighting: (signature: string, ttlMs: number) => Promise<boolean>;
  onRejected: (rejection: RequestRejection) => void;
  /**
   * Every answer on the endpoint, refusals included: its HTTP status and the seconds from the
   * request's arrival to the last byte of the answer (Slack gives up on an ack after 3 s).
   */
  onAnswered?: (status: number, seconds: number) => void;
  logger: Logger;
  nowMs?: () => number;
}

const STATUS: Record<RejectionReason, number> = {
  missing_signature: 401,
  bad_timestamp: 401,
  stale: 401,
  bad_signature: 401,
  replayed: 401,
  too_large: 413,
};

/** Wraps Bolt's request listener (HTTPReceiver.requestListener) with the checks above. */
export function guardSlackRequests(
  options: RequestGuardOptions,
): (inner: RequestListener) => RequestListener {
  const endpoint = options.path ?? "/slack/events";
  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const nowMs = options.nowMs ?? Date.now;
  // Prepared once: createHmac would otherwise copy and check the secret on every request.
  const key = createSecretKey(Buffer.from(options.signingSecret, "utf8"));
  return (inner) => (req, res) => {
    const path = pathOf(req);
    if (req.method !== "POST" || path !== endpoint) return inner(req, res);
    const { onAnswered } = options;
    if (onAnswered) {
      const arrived = performance.now();
      res.once("finish", () => onAnswered(res.statusCode, (performance.now() - arrived) / 1000));
    }
    void guard(req, res, path).then(
      (verdict) => {
        if (verdict === "pass") inner(req, res);
      },
      (error: unknown) => {
        options.logger.error({ err: error, path }, "request guard failed; answered 503");
        answer(res, 503, "Temporarily unable to verify the request; try again.");
      },
    );
  };

  async function guard(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
  ): Promise<"pass" | "refused"> {
    const refuse = (reason: RejectionReason, contentLength: number | null) => {
      options.onRejected(describe(req, path, reason, contentLength));
      answer(res, STATUS[reason], MESSAGES[reason](maxBytes), reason === "too_large");
      return "refused" as const;
    };
    const declared = declaredLength(req);
    if (declared !== null && declared > maxBytes) return refuse("too_large", declared);
    const body = await readBody(req, maxBytes);
    if (body === "too_large") return refuse("too_large", declared);
    // Bolt reads `rawBody` when it is already there, so it verifies the very bytes we did.
    (req as IncomingMessage & { rawBody: Buffer }).rawBody = body;
    const length = declared ?? body.length;

    if (isSslCheck(req, body)) return "pass"; // unsigned by design; Bolt strips anything else
    const signature = singleHeader(req, "x-slack-signature");
    const timestampHeader = singleHeader(req, "x-slack-request-timestamp");
    if (!signature || !timestampHeader) return refuse("missing_signature", length);
    if (!/^\d{1,12}$/.test(timestampHeader)) return refuse("bad_timestamp", length);
    const timestampSec = Number(timestampHeader);
    if (Math.abs(nowMs() / 1000 - timestampSec) > SIGNATURE_TOLERANCE_SEC)
      return refuse("stale", length);
    if (!signatureMatches(key, timestampHeader, body, signature))
      return refuse("bad_signature", length);
    // Remember it until its timestamp leaves the window, when Bolt would refuse it anyway.
    const ttlMs = Math.max(1000, (timestampSec + SIGNATURE_TOLERANCE_SEC) * 1000 - nowMs() + 1000);
    if (!(await options.firstSighting(signature, ttlMs))) return refuse("replayed", length);
    return "pass";
  }
}

const MESSAGES: Record<RejectionReason, (maxBytes: number) => string> = {
  missing_signature: () => "Missing Slack signature headers.",
  bad_timestamp: () => "Invalid X-Slack-Request-Timestamp.",
  stale: () => "Request timestamp is outside the 5-minute window.",
  bad_signature: () => "Invalid Slack signature.",
  replayed: () => "This request was already received.",
  too_large: (maxBytes) =>
    `Request body is larger than ${Math.round(maxBytes / 1024)} KiB; Slack never sends one this large.`,
};

export function signatureMatches(
  secret: string | KeyObject,
  timestamp: string,
  body: Buffer,
  signature: string,
): boolean {
  const expected = Buffer.from(
    `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:`).update(body).digest("hex")}`,
  );
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function answer(res: ServerResponse, status: number, message: string, close = false): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    ...(close ? { connection: "close" } : {}),
  });
  res.end(message);
}

/** Reads the body up to `max` bytes; past that, stops buffering and drains what is left. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | "too_large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off("data", onData);
        req.resume();
        resolve("too_large");
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks, size)));
    req.once("error", reject);
  });
}

function isSslCheck(req: IncomingMessage, body: Buffer): boolean {
  if (req.headers["content-type"] !== "application/x-www-form-urlencoded") return false;
  return body.length < 200 && parseQuery(body.toString()).ssl_check === "1";
}

function pathOf(req: IncomingMessage): string {
  // Most requests name the path plainly; anything else is read as Bolt reads it (WHATWG URL,
  // dot segments resolved), so the guard and Bolt always agree on what the endpoint is.
  if (req.url !== undefined && /^\/[A-Za-z0-9_/-]*$/.test(req.url) && !req.url.includes("//"))
    return req.url;
  try {
    return new URL(req.url ?? "/", "http://localhost").pathname;
  } catch {
    return "/";
  }
}

function singleHeader(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === "string" && value.length > 0 ? value : null;
}

function declaredLength(req: IncomingMessage): number | null {
  const header = req.headers["content-length"];
  if (typeof header !== "string" || !/^\d{1,15}$/.test(header)) return null;
  return Number(header);
}

const cap = (value: string | null, max: number) =>
  value === null ? null : value.replace(/[^\x20-\x7e]/g, "?").slice(0, max);

function describe(
  req: IncomingMessage,
  path: string,
  reason: RejectionReason,
  contentLength: number | null,
): RequestRejection {
  return {
    reason,
    method: req.method ?? "POST",
    path: cap(path, 200) ?? "/",
    timestamp: cap(singleHeader(req, "x-slack-request-timestamp"), 40),
    remoteAddress: req.socket.remoteAddress ?? null,
    forwardedFor: cap(singleHeader(req, "x-forwarded-for"), 200),
    contentLength,
    retryNum: cap(singleHeader(req, "x-slack-retry-num"), 10),
    userAgent: cap(singleHeader(req, "user-agent"), 200),
  };
}
