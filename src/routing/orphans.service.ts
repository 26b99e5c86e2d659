/**
 * Open exceptions whose role a routing version no longer defines get the new role its review
 * approved, in the activation's transaction, one audit row each. The sweep catches any that a
 * replica opened under the old version in the seconds before it heard of the new one.
 */
import { and, eq, ne, notInArray } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { SYSTEM_ACTOR } from "../audit/audit.js";
import { exceptionLabel } from "../exceptions/card.js";
import { cardLane } from "../exceptions/cards.js";
import { type ChangeUnit, inChangeTransaction, type RowChange } from "../exceptions/change.js";
import type { Queryable } from "../platform/db/db.js";
import { exceptions } from "../platform/db/schema.js";
import { escapeMrkdwn } from "../platform/slack/mrkdwn.js";
import { queueMessage } from "../platform/slack/outbox-message.js";
import type { MovedException } from "./decision-result.js";
import { configOf } from "./load.js";
import { type OrphanMove, planReassignments } from "./review-policy.js";
import type { RoutingConfig } from "./routing-file.schema.js";
import { activeVersion, lockRouting, openByRole } from "./versions.repo.js";

/**
 * Moves the open exceptions of each removed role to its new role, through the exception seam
 * of the activation's transaction: one audit row each, a fresh card in the new role's channel
 * (the old card says where it went), and the new role's SLA deadline.
 */
export async function moveOrphans(
  unit: ChangeUnit,
  input: { moves: OrphanMove[]; config: RoutingConfig; version: number; actor: string; now: Date },
): Promise<MovedException[]> {
  const moved: MovedException[] = [];
  for (const move of input.moves) {
    const target = input.config.roles[move.to];
    if (!target) throw new Error(`reassign target ${move.to} is not a role of v${input.version}`);
    const ids = await openIdsOfRole(unit.tx, move.from);
    const result = await unit.changeMany(ids, (row) => {
      if (row.role !== move.from || row.state === "resolved") {
        return { ok: false, refusal: "moved on" };
      }
      const newChannel = row.channel !== target.channel;
      const change: RowChange = {
        patch: {
          role: move.to,
          channel: target.channel,
          // A card cannot move between channels: a new one is posted, the old one says where.
          ...(newChannel ? { cardTs: null } : {}),
          updatedAt: input.now,
        },
        audit: {
          actor: input.actor,
          source: "routing",
          action: "rerouted",
          note: `role ${move.from} was removed by routing v${input.version}`,
          details: {
            version: input.version,
            fromRole: move.from,
            toRole: move.to,
            how: move.how,
            fromChannel: row.channel,
            toChannel: target.channel,
            oldCardTs: row.cardTs,
          },
          at: input.now,
        },
        // The storm card of a member shows its storm's role, which does not move.
        stormCard: false,
        outbox: async (tx) => {
          if (!newChannel || !row.cardTs) return;
          // The old card cannot move: it says where the exception went (after whatever the
          // card's lane still holds), and its buttons go with the rest of it.
          const text = `:arrow_right: ${exceptionLabel(row.id)} moved to *${escapeMrkdwn(move.to)}* (<#${target.channel}>): role ${escapeMrkdwn(move.from)} was removed by routing v${input.version}.`;
          await queueMessage(tx, {
            lane: cardLane(row.id),
            channel: row.channel,
            editTs: row.cardTs,
            dedupeKey: `moved-${row.id}-v${input.version}`,
            text,
            blocks: [{ type: "section", text: { type: "mrkdwn", text } }],
          });
        },
      };
      return { ok: true, change, facts: { fromChannel: row.channel } };
    });
    for (const { row, facts } of result.changed) {
      moved.push({
        id: row.id,
        fromRole: move.from,
        toRole: move.to,
        fromChannel: facts.fromChannel,
        toChannel: target.channel,
      });
    }
  }
  return moved;
}

/**
 * Gives a role to open exceptions whose role the active version does not define (the active
 * version's `reassign:` entry, else its default role). Idempotent; safe on every replica.
 */
export async function sweepOrphans(deps: Deps): Promise<MovedException[]> {
  const now = deps.clock.now();
  const result = await inChangeTransaction(deps, async (unit) => {
    await lockRouting(unit.tx);
    const active = await activeVersion(unit.tx);
    if (!active) return { moved: [], version: 0 };
    const config = configOf(active);
    const plan = planReassignments(await openByRole(unit.tx), config, { fallbackToDefault: true });
    if (plan.moves.length === 0) return { moved: [], version: active.version };
    const moved = await moveOrphans(unit, {
      moves: plan.moves,
      config,
      version: active.version,
      actor: SYSTEM_ACTOR,
      now,
    });
    return { moved, version: active.version };
  });
  if (result.moved.length > 0) {
    deps.logger.warn(
      { version: result.version, moved: result.moved.length },
      "open exceptions of a removed role were given the active version's role",
    );
  }
  return result.moved;
}

/** Cheap check for the poll: does any open exception name a role the config lacks? */
export async function hasOrphans(deps: Pick<Deps, "db">, config: RoutingConfig): Promise<boolean> {
  const roles = Object.keys(config.roles);
  const [row] = await deps.db
    .select({ id: exceptions.id })
    .from(exceptions)
    .where(and(ne(exceptions.state, "resolved"), notInArray(exceptions.role, roles)))
    .limit(1);
  return row !== undefined;
}

/** The open exceptions of a role, in id order (the seam locks them). */
async function openIdsOfRole(db: Queryable, role: string): Promise<number[]> {
  const rows = await db
    .select({ id: exceptions.id })
    .from(exceptions)
    .where(and(eq(exceptions.role, role), ne(exceptions.state, "resolved")))
    .orderBy(exceptions.id);
  return rows.map((row) => row.id);
}
