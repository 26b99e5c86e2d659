/**
 * The checks every POST to the Slack endpoint passes before any listener sees it, run by the
 * receiver (receiver.ts): the body limit before buffering, Slack's signature and its 5-minute
 * window through Bolt's own `verifySlackRequest` (plus the bound on future timestamps Bolt does
 * not check), and what is recorded about a refusal: never the body, never the signature.
 * Slack's own retries of an event carry a new signature, so they pass here and are made
 * idempotent by event id (`registerEventDedupe` in src/security/slack-edge.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseQuery } from "node:querystring";
import { verifySlackRequest } from "@slack/bolt";

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

export const REJECTION_STATUS: Record<RejectionReason, number> = {
  missing_signature: 401,
  bad_timestamp: 401,
  stale: 401,
  bad_signature: 401,
  replayed: 401,
  too_large: 413,
};

export const REJECTION_MESSAGES: Record<RejectionReason, (maxBytes: number) => string> = {
  missing_signature: () => "Missing Slack signature headers.",
  bad_timestamp: () => "Invalid X-Slack-Request-Timestamp.",
  stale: () => "Request timestamp is outside the 5-minute window.",
  bad_signature: () => "Invalid Slack signature.",
  replayed: () => "This request was already received.",
  too_large: (maxBytes) =>
    `Request body is larger than ${Math.round(maxBytes / 1024)} KiB; Slack never sends one this large.`,
};

export type SignatureCheck =
  | {
      ok: true;
      /** The verified HMAC (64 hex digits): names the request in the replay memory. */
      hash: string;
      timestampSec: number;
    }
  | { ok: false; reason: RejectionReason };

/** Slack's only signature format; anything else (`v0=<hash>=junk` too) is refused. */
const SIGNATURE = /^v0=([0-9a-f]{64})$/;

/**
 * Checks the signature headers against the raw body with Bolt's `verifySlackRequest` (the HMAC
 * and the 5-minute window), and refuses timestamps more than 5 minutes ahead, which Bolt accepts.
 */
export function checkSignature(
  req: IncomingMessage,
  body: Buffer,
  signingSecret: string,
  nowMs: number,
): SignatureCheck {
  const signature = singleHeader(req, "x-slack-signature");
  const timestampHeader = singleHeader(req, "x-slack-request-timestamp");
  if (!signature || !timestampHeader) return { ok: false, reason: "missing_signature" };
  if (!/^\d{1,12}$/.test(timestampHeader)) return { ok: false, reason: "bad_timestamp" };
  const timestampSec = Number(timestampHeader);
  // Bolt refuses a timestamp more than 5 minutes old; one as far ahead is as suspect.
  if (timestampSec - nowMs / 1000 > SIGNATURE_TOLERANCE_SEC) return { ok: false, reason: "stale" };
  try {
    verifySlackRequest({
      signingSecret,
      body: body.toString("utf8"),
      headers: { "x-slack-signature": signature, "x-slack-request-timestamp": timestampSec },
      nowMilliseconds: nowMs,
    });
  } catch (error) {
    const stale = error instanceof Error && /stale/.test(error.message);
    return { ok: false, reason: stale ? "stale" : "bad_signature" };
  }
  // Bolt compares what follows the first `=` only: `v0=<hash>=junk` would pass it, and be a
  // new request to the replay memory each time.
  const hash = SIGNATURE.exec(signature)?.[1];
  if (!hash) return { ok: false, reason: "bad_signature" };
  return { ok: true, hash, timestampSec };
}

/** Reads the body up to `max` bytes; past that, stops buffering and drains what is left. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer | "too_large"> {
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

/** Slack's unsigned reachability probe: answered 200, never dispatched. */
export function isSslCheck(req: IncomingMessage, body: Buffer): boolean {
  if (req.headers["content-type"] !== "application/x-www-form-urlencoded") return false;
  return body.length < 200 && parseQuery(body.toString()).ssl_check === "1";
}

export function pathOf(req: IncomingMessage): string {
  // Most requests name the path plainly; anything else is read as a WHATWG URL (dot segments
  // resolved), as Bolt's own receiver reads it.
  if (req.url !== undefined && /^\/[A-Za-z0-9_/-]*$/.test(req.url) && !req.url.includes("//"))
    return req.url;
  try {
    return new URL(req.url ?? "/", "http://localhost").pathname;
  } catch {
    return "/";
  }
}

export function declaredLength(req: IncomingMessage): number | null {
  const header = req.headers["content-length"];
  if (typeof header !== "string" || !/^\d{1,15}$/.test(header)) return null;
  return Number(header);
}

/** A plain-text answer; `close` asks the client to drop the connection (after a 413). */
export function answer(res: ServerResponse, status: number, message: string, close = false): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    ...(close ? { connection: "close" } : {}),
  });
  res.end(message);
}

function singleHeader(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === "string" && value.length > 0 ? value : null;
}

const cap = (value: string | null, max: number) =>
  value === null ? null : value.replace(/[^\x20-\x7e]/g, "?").slice(0, max);

export function describeRejection(
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

/** `promise`, or a rejection after `ms`: Slack wants an answer within 3 s, whatever Redis does. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = "Redis"): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
