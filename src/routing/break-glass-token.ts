/**
 * Break-glass from a shell. Slack tells the desk who clicked; a shell does not, and anyone who
 * can run the CLI against the database could type another person's Slack ID. So a shell acts as
 * `cli:<os user>`, never as a Slack user, and may break glass only with the admins' secret
 * token: the deployment holds its SHA-256 (BREAK_GLASS_TOKEN_SHA256, useless to whoever reads
 * the config), the person breaking glass brings the token itself (SYNCDESK_BREAK_GLASS_TOKEN in
 * their own shell). Pure.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export type TokenCheck = "verified" | "no_token" | "not_configured" | "wrong_token";

export function checkBreakGlassToken(
  token: string | undefined,
  expectedSha256: string | undefined,
): TokenCheck {
  if (!expectedSha256) return "not_configured";
  if (!token) return "no_token";
  const given = createHash("sha256").update(token).digest();
  const expected = Buffer.from(expectedSha256, "hex");
  return expected.length === given.length && timingSafeEqual(given, expected)
    ? "verified"
    : "wrong_token";
}

export const TOKEN_REFUSALS: Record<Exclude<TokenCheck, "verified">, string> = {
  not_configured:
    "Break-glass from a shell is off: the deployment sets no BREAK_GLASS_TOKEN_SHA256. Break glass from Slack as an admin, or propose the rollback for review.",
  no_token:
    "--break-glass from a shell needs the admins' break-glass token in SYNCDESK_BREAK_GLASS_TOKEN.",
  wrong_token: "That break-glass token is not the one this deployment accepts.",
};
