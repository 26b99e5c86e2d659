/**
 * The intake's storm step, run inside the transaction that opened a new exception: join the
 * open storm of its kind, form one when this is one new fingerprint past the threshold, or do
 * nothing. Intake workers run side by side, so each kind is decided under its own advisory
 * lock (and the partial unique index on open storms backs that up).
 */
import { and, eq, gte, isNull, ne, sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { recordAudit } from "../audit/audit.js";
import type { Tx } from "../platform/db/db.js";
import { exceptions, storms } from "../platform/db/schema.js";
import { type StormKind, stormKey } from "./storm-key.js";
import { decideStorm, windowStart } from "./storm-policy.js";
import { recordStormAudit } from "./storms.repo.js";

/** Advisory lock namespace for "deciding storms of one kind" (cards.ts uses 42 for posting). */
const STORM_KIND_LOCK = 44;

export interface NewMember extends StormKind {
  exceptionId: number;
  channel: string;
}

export type StormStep = { stormId: number; formed: boolean } | null;

export async function groupIntoStorm(
  tx: Tx,
  deps: Pick<Deps, "clock" | "storms">,
  member: NewMember,
): Promise<StormStep> {
  const desk = deps.storms;
  if (!desk) return null;
  const now = deps.clock.now();
  const key = stormKey(member);
  await lockKind(tx, key);

  const [open] = await tx
    .select({ id: storms.id, claimedBy: storms.claimedBy })
    .from(storms)
    .where(and(eq(storms.key, key), eq(storms.state, "open")))
    // NO KEY UPDATE: see lockStorm.
    .for("no key update");
  const since = windowStart(now, desk.settings.windowMs);
  const sameKind = and(
    eq(exceptions.client, member.client),
    eq(exceptions.targetSystem, member.targetSystem),
    eq(exceptions.failureMode, member.failureMode),
    eq(exceptions.role, member.role),
    gte(exceptions.openedAt, since),
  );
  let newInWindow = 0;
  if (!open) {
    const [counted] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(exceptions)
      .where(sameKind);
    newInWindow = counted?.n ?? 0;
  }
  const decision = decideStorm({
    openStormId: open?.id ?? null,
    newInWindow,
    threshold: desk.settings.threshold,
  });

  switch (decision.kind) {
    case "none":
      return null;
    case "join": {
      await tx
        .update(storms)
        .set({
          lastMemberAt: sql`greatest(${storms.lastMemberAt}, ${now.toISOString()}::timestamptz)`,
          updatedAt: now,
        })
        .where(eq(storms.id, decision.stormId));
      await join(tx, member.exceptionId, decision.stormId, open?.claimedBy ?? null, now);
      return { stormId: decision.stormId, formed: false };
    }
    case "form": {
      const [formed] = await tx
        .insert(storms)
        .values({
          key,
          client: member.client,
          targetSystem: member.targetSystem,
          failureMode: member.failureMode,
          role: member.role,
          channel: member.channel,
          formedAt: now,
          lastMemberAt: now,
          updatedAt: now,
        })
        .returning({ id: storms.id });
      if (!formed) throw new Error("storm insert returned no row");
      // Earlier new fingerprints of the window join too; those already carded keep their card.
      const adopted = await tx
        .update(exceptions)
        .set({ stormId: formed.id })
        .where(and(sameKind, isNull(exceptions.stormId), ne(exceptions.state, "resolved")))
        .returning({ id: exceptions.id, state: exceptions.state });
      for (const row of adopted) {
        await recordAudit(tx, {
          exceptionId: row.id,
          actor: "system",
          source: "storm",
          action: "storm_joined",
          stateBefore: row.state,
          stateAfter: row.state,
          details: { stormId: formed.id, formedBy: row.id === member.exceptionId },
          at: now,
        });
      }
      await recordStormAudit(tx, formed.id, {
        source: "storm",
        action: "storm_formed",
        details: {
          members: adopted.length,
          threshold: desk.settings.threshold,
          windowMs: desk.settings.windowMs,
          client: member.client,
          targetSystem: member.targetSystem,
          failureMode: member.failureMode,
          role: member.role,
        },
        at: now,
      });
      // Queued inside the transaction: a storm is never committed without its end in Redis.
      await desk.scheduleEndCheck(formed.id, new Date(now.getTime() + desk.settings.windowMs));
      return { stormId: formed.id, formed: true };
    }
  }
}

/** Takes the lock that serializes storm decisions of one kind, until the transaction ends. */
export async function lockKind(tx: Tx, key: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${STORM_KIND_LOCK}, hashtext(${key}))`);
}

/**
 * Adds a new exception to a storm. In a claimed storm it is claimed for the storm's holder
 * straight away: Claim storm promised them the new members too.
 */
async function join(
  tx: Tx,
  exceptionId: number,
  stormId: number,
  holder: string | null,
  now: Date,
): Promise<void> {
  await tx
    .update(exceptions)
    .set(
      holder
        ? { stormId, state: "claimed", claimedBy: holder, claimedAt: now, updatedAt: now }
        : { stormId },
    )
    .where(and(eq(exceptions.id, exceptionId), eq(exceptions.state, "open")));
  await recordAudit(tx, {
    exceptionId,
    actor: "system",
    source: "storm",
    action: "storm_joined",
    stateBefore: "open",
    stateAfter: "open",
    details: { stormId },
    at: now,
  });
  if (holder) {
    await recordAudit(tx, {
      exceptionId,
      actor: holder,
      source: "storm",
      action: "claim",
      stateBefore: "open",
      stateAfter: "claimed",
      note: "claimed with its storm",
      details: { stormId, inherited: true },
      at: now,
    });
  }
}
