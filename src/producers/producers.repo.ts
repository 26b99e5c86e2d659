/** The producers table: created and revoked by the CLI, looked up by token hash per request. */
import { and, asc, eq, isNull } from "drizzle-orm";
import { recordAudit } from "../audit/audit.js";
import type { Db } from "../platform/db/db.js";
import { producers } from "../platform/db/schema.js";

export type ProducerRow = typeof producers.$inferSelect;

/** The producer a token hash names, live or revoked; undefined when none does. */
export async function producerByTokenHash(
  db: Db,
  hash: string,
): Promise<Pick<ProducerRow, "id" | "name" | "role" | "revokedAt"> | undefined> {
  const [row] = await db
    .select({
      id: producers.id,
      name: producers.name,
      role: producers.role,
      revokedAt: producers.revokedAt,
    })
    .from(producers)
    .where(eq(producers.tokenSha256, hash));
  return row;
}

export async function createProducer(
  db: Db,
  input: {
    name: string;
    role: string | null;
    tokenSha256: string;
    tokenHint: string;
    actor: string;
    at: Date;
  },
): Promise<{ ok: true; row: ProducerRow } | { ok: false; reason: "exists" }> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(producers)
      .values({
        name: input.name,
        role: input.role,
        tokenSha256: input.tokenSha256,
        tokenHint: input.tokenHint,
        createdAt: input.at,
        createdBy: input.actor,
      })
      .onConflictDoNothing()
      .returning();
    if (!row) return { ok: false as const, reason: "exists" as const };
    await recordAudit(tx, {
      actor: input.actor,
      source: "cli",
      action: "producer_created",
      details: { producer: row.name, role: row.role, tokenHint: row.tokenHint },
      at: input.at,
    });
    return { ok: true as const, row };
  });
}

export async function listProducers(db: Db): Promise<ProducerRow[]> {
  return db.select().from(producers).orderBy(asc(producers.name), asc(producers.id));
}

/** Revokes the live producer of that name; its token stops working on the next request. */
export async function revokeProducer(
  db: Db,
  input: { name: string; actor: string; at: Date },
): Promise<ProducerRow | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(producers)
      .set({ revokedAt: input.at, revokedBy: input.actor })
      .where(and(eq(producers.name, input.name), isNull(producers.revokedAt)))
      .returning();
    if (row) {
      await recordAudit(tx, {
        actor: input.actor,
        source: "cli",
        action: "producer_revoked",
        details: { producer: row.name, tokenHint: row.tokenHint },
        at: input.at,
      });
    }
    return row;
  });
}
