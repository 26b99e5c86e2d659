/**
 * Producers that send events over HTTP (`POST /v1/events`, src/producers): one row per
 * producer, its bearer token stored as a SHA-256 only (a token is 256 random bits, so a fast
 * hash is enough: nothing to guess, nothing to salt). Re-exported by schema.ts.
 */
import { sql } from "drizzle-orm";
import { bigserial, index, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { ts } from "./columns.js";

export const producers = pgTable(
  "producers",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** Who sends: named on rejections and in the audit (`netsuite-sync`). */
    name: text("name").notNull(),
    /** The routing file's role that owns this producer (its rejections go there), or none. */
    role: text("role"),
    /** SHA-256 of the bearer token, 64 hex digits. The token itself is shown once, at create. */
    tokenSha256: text("token_sha256").notNull(),
    /** The token's first characters (`sdp_AbCd`), so a person can tell which one a log means. */
    tokenHint: text("token_hint").notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
    createdBy: text("created_by").notNull(),
    revokedAt: ts("revoked_at"),
    revokedBy: text("revoked_by"),
  },
  (t) => [
    uniqueIndex("producers_token_sha256").on(t.tokenSha256),
    // One live producer per name; a revoked name may be created again (a new token).
    uniqueIndex("producers_live_name").on(t.name).where(sql`revoked_at is null`),
    index("producers_name").on(t.name),
  ],
);
