/**
 * Open exceptions whose role a routing version no longer defines get the new role its review
 * approved, in the activation's transaction, one audit row each. The sweep catches any that a
 * replica opened under the old version in the seconds before it heard of the new one.
 */
import { and, eq, ne, notInArray } from "drizzle-orm";
import { recordAudit, SYSTEM_ACTOR } from "../audit/audit.js";
import { exceptionLabel } from "../exceptions/card.js";
import { cardLane, syncCard } from "../exceptions/cards.js";
import type { Tx } from "../platform/db/db.js";
import { exceptions } from "../platform/db/schema.js";
import type { Deps } from "../platform/deps.js";
import { enqueue } from "../platform/queue/queues.js";
import { escapeMrkdwn } from "../platform/slack/mrkdwn.js";
import { queueMessage } from "../platform/slack/outbox-message.js";
import { armSla } from "../sla/sla-timers.js";
import { type OrphanMove, planReassignments } from "./review-policy.js";
import type { RoutingConfig } from "./routing-file.schema.js";
import { activeVersion, lockRouting, openByRole } from "./versions.repo.js";
import { configOf } from "./versions.service.js";

export interface MovedException {
  id: number;
  fromRole: string;
  toRole: string;
  fromChannel: string;
  toChannel: string;
}

export async function moveOrphans(
  tx: Tx,
  input: { moves: OrphanMove[]; config: RoutingConfig; version: number; actor: string; now: Date },
): Promise<MovedException[]> {
  const moved: MovedException[] = [];
  for (const move of input.moves) {
    const target = input.config.roles[move.to];
    if (!target) throw new Error(`reassign target ${move.to} is not a role of v${input.version}`);
    const rows = await tx
      .select({
        id: exceptions.id,
        state: exceptions.state,
        channel: exceptions.channel,
        cardTs: exceptions.cardTs,
      })
      .from(exceptions)
      .where(and(eq(exceptions.role, move.from), ne(exceptions.state, "resolved")))
      // NO KEY UPDATE, as every exception lock: outbox and audit rows naming these rows (a
      // foreign key, KEY SHARE) may be written meanwhile without a deadlock.
      .for("no key update");
    for (const row of rows) {
      const newChannel = row.channel !== target.channel;
      await tx
        .update(exceptions)
        .set({
          role: move.to,
          channel: target.channel,
          // A card cannot move between channels: a new one is posted, the old one says where.
          ...(newChannel ? { cardTs: null } : {}),
          updatedAt: input.now,
        })
        .where(eq(exceptions.id, row.id));
      await recordAudit(tx, {
        exceptionId: row.id,
        actor: input.actor,
        source: "routing",
        action: "rerouted",
        stateBefore: row.state,
        stateAfter: row.state,
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
      });
      if (newChannel && row.cardTs) {
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
      }
      moved.push({
        id: row.id,
        fromRole: move.from,
        toRole: move.to,
        fromChannel: row.channel,
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
  const result = await deps.db.transaction(async (tx) => {
    await lockRouting(tx);
    const active = await activeVersion(tx);
    if (!active) return { moved: [], version: 0 };
    const config = configOf(active);
    const plan = planReassignments(await openByRole(tx), config, { fallbackToDefault: true });
    if (plan.moves.length === 0) return { moved: [], version: active.version };
    const moved = await moveOrphans(tx, {
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
    await afterMoves(deps, result.moved);
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

/**
 * After the commit of a move: the new owner's channel gets a fresh card (the old one was told
 * in the move's transaction), and the new role's SLA policy applies from now on.
 */
export async function afterMoves(deps: Deps, moved: MovedException[]): Promise<void> {
  for (const move of moved) {
    try {
      await syncCard(deps, move.id);
    } catch (error) {
      deps.logger.warn(
        { exceptionId: move.id, err: error },
        "card of a moved exception not posted; queued",
      );
      await enqueue(deps.queues, "cards.sync", { exceptionId: move.id }).catch(
        (queueError: unknown) =>
          deps.logger.error({ exceptionId: move.id, err: queueError }, "could not queue the card"),
      );
    }
    await armSla(deps, move.id);
  }
}
