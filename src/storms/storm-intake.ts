/**
 * The intake's storm step, run inside the transaction that opened a new exception: join the
 * open storm of its kind, form one when this is one new fingerprint past the threshold, or do
 * nothing. Intake workers run side by side, so each kind is decided under its own advisory
 * lock (and the partial unique index on open storms backs that up).
 */
import { and, eq, gte, isNull, ne, sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import type { ChangeUnit, RowChange } from "../exceptions/change.js";
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
  unit: ChangeUnit,
  deps: Pick<Deps, "clock" | "storms">,
  member: NewMember,
): Promise<StormStep> {
  const { tx } = unit;
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
      await join(unit, member.exceptionId, decision.stormId, open?.claimedBy ?? null, now);
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
      // Earlier new fingerprints of the window join too, through the exception seam; those
      // already carded keep their card (it gets the storm line when the storm card is posted).
      const candidates = await tx
        .select({ id: exceptions.id })
        .from(exceptions)
        .where(and(sameKind, isNull(exceptions.stormId), ne(exceptions.state, "resolved")))
        .orderBy(exceptions.id);
      const { changed: adopted } = await unit.changeMany(
        candidates.map((row) => row.id),
        (row) => {
          if (row.stormId !== null || row.state === "resolved") {
            return { ok: false, refusal: "taken" };
          }
          const details = { stormId: formed.id, formedBy: row.id === member.exceptionId };
          return { ok: true, change: stormJoin(formed.id, details, now), facts: null };
        },
      );
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
  unit: ChangeUnit,
  exceptionId: number,
  stormId: number,
  holder: string | null,
  now: Date,
): Promise<void> {
  const joined = await unit.change(exceptionId, (row) =>
    row.state === "open"
      ? { ok: true, change: stormJoin(stormId, { stormId }, now), facts: null }
      : { ok: false, refusal: row.state },
  );
  if (!holder || !joined.ok) return;
  await unit.change(exceptionId, () => ({
    ok: true,
    facts: null,
    change: {
      patch: { state: "claimed", claimedBy: holder, claimedAt: now, updatedAt: now },
      audit: {
        actor: holder,
        source: "storm",
        action: "claim",
        note: "claimed with its storm",
        details: { stormId, inherited: true },
        at: now,
      },
      card: false,
      stormCard: false,
      redrawHomes: false,
    },
  }));
}

/**
 * An exception joins a storm: its card is the storm's from now on (shown by the opening, or by
 * the storm card's post for members carded before it formed).
 */
function stormJoin(stormId: number, details: Record<string, unknown>, now: Date): RowChange {
  return {
    patch: { stormId },
    audit: { actor: "system", source: "storm", action: "storm_joined", details, at: now },
    card: false,
    stormCard: false,
    redrawHomes: false,
  };
}
