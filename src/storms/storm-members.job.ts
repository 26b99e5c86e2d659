/**
 * The storm's background work, each an at-least-once job: walk the members for Claim storm
 * and Resolve all, retry one member for Retry all, and end the storm after its quiet window.
 * Every member goes through the exception service (Resolve all through its batch form), which
 * re-checks its state and the actor's right, so a rerun finds the done ones refused as stale
 * and changes nothing twice.
 */
import { eq } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { resolveExceptions } from "../exceptions/bulk-resolve.js";
import { ROOT_CAUSE_LABELS } from "../exceptions/card.js";
import {
  type ActResult,
  actOnException,
  type HumanAction,
} from "../exceptions/exceptions.service.js";
import { storms } from "../platform/db/schema.js";
import { escapeMrkdwn } from "../platform/slack/mrkdwn.js";
import { queueStormCard, queueStormNote } from "./storm-cards.js";
import { scheduleEndCheck } from "./storm-desk.js";
import { lockKind } from "./storm-intake.js";
import type { StormJobData } from "./storm-jobs.schema.js";
import { quietCheck } from "./storm-policy.js";
import {
  findStorm,
  lockStorm,
  type MemberFilter,
  memberPage,
  recordStormAudit,
  resolvedByResolveAll,
} from "./storms.repo.js";

const PAGE = 200;
/** Members worked on at once by Claim storm and Resolve all (each through the service). */
const PARALLEL = 4;

interface Tally {
  done: number;
  refused: Map<string, number>;
}

/** Walks the storm's members that match `filter`, a page of ids at a time, in id order. */
async function forEachPage(
  deps: Deps,
  input: { stormId: number; filter: MemberFilter; asOf: number },
  limit: number,
  work: (ids: number[]) => Promise<void>,
): Promise<void> {
  let afterId = 0;
  for (;;) {
    const page = await memberPage(deps.db, {
      stormId: input.stormId,
      filter: input.filter,
      asOf: new Date(input.asOf),
      afterId,
      limit,
    });
    if (page.length > 0) await work(page.map((row) => row.id));
    afterId = page.at(-1)?.id ?? afterId;
    if (page.length < limit) return;
  }
}

const refuse = (tally: Tally, code: string) =>
  tally.refused.set(code, (tally.refused.get(code) ?? 0) + 1);

async function forEachMember(
  deps: Deps,
  input: { stormId: number; filter: MemberFilter; asOf: number },
  act: (exceptionId: number) => Promise<ActResult>,
): Promise<Tally> {
  const tally: Tally = { done: 0, refused: new Map() };
  await forEachPage(deps, input, PAGE, async (ids) => {
    // A few members at a time: each is its own short transaction on its own row.
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < ids.length; i = next++) {
        const result = await act(ids[i] as number);
        if (result.ok) tally.done++;
        else refuse(tally, result.code);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, lane));
  });
  return tally;
}

function memberAct(
  deps: Deps,
  channel: string,
  actor: StormJobData<"storms.claim-members">["actor"],
) {
  return (exceptionId: number, action: HumanAction) =>
    actOnException(deps, { exceptionId, actor, action, expectedChannel: channel });
}

export async function claimStormMembers(
  deps: Deps,
  data: StormJobData<"storms.claim-members">,
): Promise<number> {
  const storm = await findStorm(deps.db, data.stormId);
  if (!storm) return 0;
  // Queued inside the claim's transaction, so it can run before that commits: try again.
  if (storm.claimedBy === null) throw new Error(`storm ${storm.id} claim is not committed yet`);
  // Someone else holds the storm now: claim for the holder only.
  if (storm.claimedBy !== data.actor.userId) return 0;
  const act = memberAct(deps, storm.channel, data.actor);
  const tally = await forEachMember(deps, { ...data, filter: "unclaimed" }, (id) =>
    act(id, { kind: "claim" }),
  );
  return tally.done;
}

export async function retryStormMember(
  deps: Deps,
  data: StormJobData<"storms.retry-member">,
): Promise<boolean> {
  const storm = await findStorm(deps.db, data.stormId);
  if (!storm) return false;
  const result = await actOnException(deps, {
    exceptionId: data.exceptionId,
    actor: data.actor,
    action: { kind: "retry" },
    expectedChannel: storm.channel,
  });
  if (!result.ok) {
    deps.logger.info(
      { stormId: storm.id, exceptionId: data.exceptionId, code: result.code },
      "storm member retry refused",
    );
  }
  return result.ok;
}

/** Members resolved per transaction by Resolve all: one UPDATE and one audit insert each. */
export const RESOLVE_BATCH = 250;

/**
 * Resolve all, a batch of members per transaction (see resolveExceptions): a batch commits
 * whole, so a crash leaves whole batches done and the rerun walks the rest; members resolved
 * or held by someone else meanwhile are refused and counted, as a click on each would be.
 */
export async function resolveStormMembers(
  deps: Deps,
  data: StormJobData<"storms.resolve-members">,
): Promise<number> {
  const storm = await findStorm(deps.db, data.stormId);
  if (!storm) return 0;
  // Queued inside the Resolve all transaction, so it can run before that commits: try again.
  if (storm.resolvedBy === null) throw new Error(`storm ${storm.id} resolve is not committed yet`);
  const tally: Tally = { done: 0, refused: new Map() };
  await forEachPage(deps, { ...data, filter: "unresolved" }, RESOLVE_BATCH, async (ids) => {
    const result = await resolveExceptions(deps, {
      exceptionIds: ids,
      actor: data.actor,
      note: data.note,
      rootCause: data.rootCause,
      expectedChannel: storm.channel,
    });
    tally.done += result.resolved.length;
    for (const { code } of result.refused) refuse(tally, code);
  });
  // A rerun after a crash resolves only what the first run had not: count from the rows.
  const done = await resolvedByResolveAll(deps.db, storm.id, data);
  if (done > 0) {
    const left = [...tally.refused.values()].reduce((sum, n) => sum + n, 0);
    await queueStormNote(
      deps.db,
      storm,
      `:white_check_mark: *${escapeMrkdwn(data.actor.name)}* resolved ${done} member${done === 1 ? "" : "s"} of this storm · root cause: ${ROOT_CAUSE_LABELS[data.rootCause]}.${left ? ` ${left} held by someone else ${left === 1 ? "was" : "were"} left as they are.` : ""}`,
      `storm-${storm.id}-resolved-${data.asOf}`,
    );
  }
  return tally.done;
}

/** Ends the storm when no member arrived for a whole window; otherwise checks again then. */
export async function endStormIfQuiet(
  deps: Deps,
  data: StormJobData<"storms.end-check">,
): Promise<"ended" | "later" | "gone"> {
  const windowMs = deps.storms?.settings.windowMs ?? 5 * 60_000;
  const found = await findStorm(deps.db, data.stormId);
  if (!found || found.state === "ended") return "gone";
  const now = deps.clock.now();
  const outcome = await deps.db.transaction(async (tx) => {
    // The intake joins under this lock: no member can slip in while the storm ends.
    await lockKind(tx, found.key);
    const storm = await lockStorm(tx, found.id);
    if (!storm || storm.state === "ended") return "gone" as const;
    const check = quietCheck({ lastMemberAt: storm.lastMemberAt, windowMs, now });
    if (!check.quiet) {
      // Ran early for this moment (clock skew): a new job id, or BullMQ would ignore the add.
      const again = check.dueAt.getTime() === data.dueAt ? now.getTime() : 0;
      await scheduleEndCheck(deps, storm.id, check.dueAt, again);
      return "later" as const;
    }
    await tx
      .update(storms)
      .set({ state: "ended", endedAt: now, updatedAt: now })
      .where(eq(storms.id, storm.id));
    await queueStormNote(
      tx,
      storm,
      ":white_check_mark: Storm over: no new failure of this kind for the quiet window. New ones post their own cards again.",
      `storm-${storm.id}-ended`,
    );
    await recordStormAudit(tx, storm.id, {
      source: "storm",
      action: "storm_ended",
      details: { lastMemberAt: storm.lastMemberAt.toISOString(), windowMs },
      at: now,
    });
    // The card says so through the outbox, committed with the change.
    await queueStormCard(tx, storm.id);
    return "ended" as const;
  });
  return outcome;
}
