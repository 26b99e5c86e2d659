// The "what changes" preview: past exceptions re-evaluated under the active and the proposed
// routing, counted by old role -> new role. Pure; the service feeds it batches from Postgres.
import { evaluate, type RoutableEvent } from "./evaluate.js";
import type { RoutingConfig } from "./routing-file.schema.js";

export const PREVIEW_DAYS = 30;

export interface RerouteTally {
  /** Exceptions looked at. */
  total: number;
  /** Of those, how many would go to another role. */
  moved: number;
  /** "old\u0000new" -> count. */
  pairs: Map<string, number>;
  /** Decisions by the fields the two configs match on: repeats of a failure cost one lookup. */
  memo: Map<string, string>;
}

export interface ReroutePreview {
  days: number;
  total: number;
  moved: number;
  /** Largest first. */
  pairs: { from: string; to: string; count: number }[];
}

export function emptyTally(): RerouteTally {
  return { total: 0, moved: 0, pairs: new Map(), memo: new Map() };
}

/** Adds a batch. A tally belongs to one (active, proposed) pair: its memo assumes so. */
export function tallyReroutes(
  tally: RerouteTally,
  active: RoutingConfig,
  proposed: RoutingConfig,
  events: Iterable<RoutableEvent>,
): RerouteTally {
  const keys = [...new Set([...matchedFields(active), ...matchedFields(proposed)])];
  for (const event of events) {
    tally.total += 1;
    const fields = event as unknown as Record<string, string | undefined>;
    const memoKey = keys.map((key) => fields[key] ?? "").join("\u0000");
    let decided = tally.memo.get(memoKey);
    if (decided === undefined) {
      decided = `${evaluate(active, event).role.name}\u0000${evaluate(proposed, event).role.name}`;
      if (tally.memo.size < MEMO_LIMIT) tally.memo.set(memoKey, decided);
    }
    const [from, to] = decided.split("\u0000");
    if (from === to) continue;
    tally.moved += 1;
    tally.pairs.set(decided, (tally.pairs.get(decided) ?? 0) + 1);
  }
  return tally;
}

const MEMO_LIMIT = 200_000;

/** The event fields any rule of `config` matches on (routing depends on nothing else). */
function matchedFields(config: RoutingConfig): Set<string> {
  return new Set(config.routes.flatMap((rule) => Object.keys(rule.match ?? {})));
}

export function finishPreview(tally: RerouteTally, days = PREVIEW_DAYS): ReroutePreview {
  const pairs = [...tally.pairs.entries()]
    .map(([key, count]) => {
      const [from = "", to = ""] = key.split("\u0000");
      return { from, to, count };
    })
    .sort((a, b) => b.count - a.count || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  return { days, total: tally.total, moved: tally.moved, pairs };
}

/** Roles that gain or lose exceptions in the preview. */
export function previewRoles(preview: ReroutePreview): string[] {
  return [...new Set(preview.pairs.flatMap((pair) => [pair.from, pair.to]))].sort();
}
