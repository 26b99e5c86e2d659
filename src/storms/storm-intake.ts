/**
 * The intake's storm step, run inside the transaction that opened a new exception: join the
 * open storm of its kind, form one when this is one new fingerprint past the threshold, or do
 * nothing. Intake workers run side by side, so each kind is decided under its own advisory
 * lock (and the partial unique index on open storms backs that up).
 */
import { and, asc, eq, gte, inArray, isNull, ne, sql } from "drizzle-orm";
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

/** One new exception's storm step; see `groupIntoStorms`. */
export async function groupIntoStorm(
  unit: ChangeUnit,
  deps: Pick<Deps, "clock" | "storms">,
  member: NewMember,
): Promise<StormStep> {
  return (await groupIntoStorms(unit, deps, [member])).get(member.exceptionId) ?? null;
}

/**
 * The storm step of new exceptions opened in one transaction (a batch of intake), in their
 * order of arrival: each kind is decided once, under its lock, with every new member of the
 * kind counted (they are all inserted by now). A kind with an open storm: they join it. A kind
 * whose new fingerprints in the window pass the threshold: the storm forms, at the member that
 * passed it, and adopts every new fingerprint of the window, the batch's too. The members of a
 * batch so end up where one-at-a-time intake would have put them, in a few statements for the
 * whole batch. Kinds are locked in key order, so two batches never wait in a ring.
 */
export async function groupIntoStorms(
  unit: ChangeUnit,
  deps: Pick<Deps, "clock" | "storms">,
  members: readonly NewMember[],
): Promise<Map<number, StormStep>> {
  const steps = new Map<number, StormStep>();
  const desk = deps.storms;
  if (!desk || members.length === 0) return steps;
  const { tx } = unit;
  const now = deps.clock.now();
  const kinds = new Map<string, NewMember[]>();
  for (const member of members) {
    const key = stormKey(member);
    kinds.set(key, [...(kinds.get(key) ?? []), member]);
  }
  const keys = [...kinds.keys()].sort();
  await lockKinds(tx, keys);

  const open = await tx
    .select({ id: storms.id, key: storms.key, claimedBy: storms.claimedBy })
    .from(storms)
    .where(and(inArray(storms.key, keys), eq(storms.state, "open")))
    .orderBy(asc(storms.id))
    // NO KEY UPDATE: see lockStorm.
    .for("no key update");
  const openByKey = new Map(open.map((storm) => [storm.key, storm]));
  const since = windowStart(now, desk.settings.windowMs);
  const counts = await newInWindow(
    tx,
    keys
      .filter((key) => !openByKey.has(key))
      .map((key) => (kinds.get(key) as NewMember[])[0] as NewMember),
    since,
  );

  const joining: { member: NewMember; stormId: number; holder: string | null }[] = [];
  for (const key of keys) {
    const group = kinds.get(key) as NewMember[];
    const storm = openByKey.get(key);
    const counted = counts.get(key) ?? 0;
    // One at a time, member i of the batch would have seen the new fingerprints before it.
    const passing = group.findIndex((_, i) => {
      const decision = decideStorm({
        openStormId: storm?.id ?? null,
        newInWindow: counted - (group.length - 1 - i),
        threshold: desk.settings.threshold,
      });
      return decision.kind !== "none";
    });
    if (passing < 0) continue;
    if (storm) {
      for (const member of group) {
        joining.push({ member, stormId: storm.id, holder: storm.claimedBy ?? null });
      }
      continue;
    }
    const former = group[passing] as NewMember;
    const stormId = await form(unit, desk, former, since, now);
    for (const member of group) {
      steps.set(member.exceptionId, { stormId, formed: member === former });
    }
  }
  for (const { member, stormId } of await join(unit, joining, now)) {
    steps.set(member.exceptionId, { stormId, formed: false });
  }
  return steps;
}

/** Per kind (keyed by storm key): new fingerprints opened since `since`, the batch's included. */
async function newInWindow(
  tx: Tx,
  kinds: readonly NewMember[],
  since: Date,
): Promise<Map<string, number>> {
  if (kinds.length === 0) return new Map();
  const wanted = JSON.stringify(
    kinds.map((k) => ({
      client: k.client,
      target_system: k.targetSystem,
      failure_mode: k.failureMode,
      role: k.role,
    })),
  );
  const rows = await tx.execute<{
    client: string;
    target_system: string;
    failure_mode: string;
    role: string;
    n: number;
  }>(sql`
    select k.client, k.target_system, k.failure_mode, k.role, count(e.id)::int as n
    from jsonb_to_recordset(${wanted}::jsonb)
      as k(client text, target_system text, failure_mode text, role text)
    join ${exceptions} e
      on e.client = k.client and e.target_system = k.target_system
     and e.failure_mode = k.failure_mode and e.role = k.role
     and e.opened_at >= ${since.toISOString()}::timestamptz
    group by k.client, k.target_system, k.failure_mode, k.role`);
  return new Map(
    rows.map((row) => [
      stormKey({
        client: row.client,
        targetSystem: row.target_system,
        failureMode: row.failure_mode,
        role: row.role,
      }),
      Number(row.n),
    ]),
  );
}

/** The storm of `member`'s kind forms; every new fingerprint of the window without one joins. */
async function form(
  unit: ChangeUnit,
  desk: NonNullable<Deps["storms"]>,
  member: NewMember,
  since: Date,
  now: Date,
): Promise<number> {
  const { tx } = unit;
  const sameKind = and(
    eq(exceptions.client, member.client),
    eq(exceptions.targetSystem, member.targetSystem),
    eq(exceptions.failureMode, member.failureMode),
    eq(exceptions.role, member.role),
    gte(exceptions.openedAt, since),
  );
  const [formed] = await tx
    .insert(storms)
    .values({
      key: stormKey(member),
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
  return formed.id;
}

/** Takes the lock that serializes storm decisions of one kind, until the transaction ends. */
export async function lockKind(tx: Tx, key: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${STORM_KIND_LOCK}, hashtext(${key}))`);
}

/** `lockKind` for many kinds, taken in the order given (callers sort: no waiting in a ring). */
async function lockKinds(tx: Tx, keys: readonly string[]): Promise<void> {
  if (keys.length === 1) return lockKind(tx, keys[0] as string);
  await tx.execute(sql`
    select pg_advisory_xact_lock(${STORM_KIND_LOCK}, hashtext(k.key))
    from jsonb_array_elements_text(${JSON.stringify(keys)}::jsonb) with ordinality as k(key, n)
    order by k.n`);
}

/**
 * Adds new exceptions to open storms (one statement per step, however many). In a claimed
 * storm each is claimed for the storm's holder straight away: Claim storm promised them the
 * new members too. Returns those that joined.
 */
async function join<T extends { member: NewMember; stormId: number; holder: string | null }>(
  unit: ChangeUnit,
  joining: readonly T[],
  now: Date,
): Promise<T[]> {
  if (joining.length === 0) return [];
  const byId = new Map(joining.map((entry) => [entry.member.exceptionId, entry]));
  const { changed } = await unit.changeMany([...byId.keys()], (row) => {
    const entry = byId.get(row.id) as T;
    return row.state === "open"
      ? { ok: true, change: stormJoin(entry.stormId, { stormId: entry.stormId }, now), facts: null }
      : { ok: false, refusal: row.state };
  });
  const joined = changed.map(({ row }) => byId.get(row.id) as T);
  const stormIds = [...new Set(joined.map((entry) => entry.stormId))];
  if (stormIds.length > 0) {
    await unit.tx
      .update(storms)
      .set({
        lastMemberAt: sql`greatest(${storms.lastMemberAt}, ${now.toISOString()}::timestamptz)`,
        updatedAt: now,
      })
      .where(inArray(storms.id, stormIds));
  }
  const claimed = joined.filter((entry) => entry.holder);
  if (claimed.length > 0) {
    await unit.changeMany(
      claimed.map((entry) => entry.member.exceptionId),
      (row) => {
        const { holder, stormId } = byId.get(row.id) as T;
        return {
          ok: true,
          facts: null,
          change: {
            patch: { state: "claimed", claimedBy: holder, claimedAt: now, updatedAt: now },
            audit: {
              actor: holder as string,
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
        };
      },
    );
  }
  return joined;
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
