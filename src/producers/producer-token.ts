/**
 * Producer tokens: `sdp_` + 43 base64url characters (256 random bits). Only the SHA-256 is
 * stored; a presented token is hashed and looked up. Pure but for the random bytes.
 */
import { createHash, randomBytes } from "node:crypto";

const TOKEN = /^sdp_[A-Za-z0-9_-]{43}$/;

export function newProducerToken(): string {
  return `sdp_${randomBytes(32).toString("base64url")}`;
}

export function tokenSha256(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** What a person may see of a token: its prefix, enough to tell two apart. */
export function tokenHint(token: string): string {
  return `${token.slice(0, 8)}…`;
}

/** The token of an `Authorization: Bearer …` header, or why there is none. */
export function bearerToken(
  header: string | string[] | undefined,
): { ok: true; token: string } | { ok: false; reason: "missing_token" | "malformed_token" } {
  if (typeof header !== "string" || header.trim() === "")
    return { ok: false, reason: "missing_token" };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) return { ok: false, reason: "malformed_token" };
  return TOKEN.test(match[1])
    ? { ok: true, token: match[1] }
    : { ok: false, reason: "malformed_token" };
}

/** Producer names: what a person types in the CLI and reads on a rejection. */
export const PRODUCER_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
