/**
 * The queries behind `/inventory status`, the Home tab and the digest. Each is one SQL
 * statement chosen for a history of a million exceptions (see `npm run bench:status`): window
 * figures read the `exceptions_window` index alone; live figures read the partial
 * `exceptions_live_role` index of unresolved rows.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../platform/db/db.js";
import type {
  CardRef,
  DurationStats,
  Failing,
  LiveRole,
  RejectedFigures,
  WindowFigures,
} from "./figures.js";

/** Which exceptions a figure covers: a client, a set of roles, or everything. */
export interface Scope {
  client?: string;
  roles?: readonly string[];
  /** The events' optional vertical; exceptions without one are left out. */
  vertical?: string;
}

export interface Window {
  now: Date;
  ms: number;
  /** Days are counted in this IANA zone (the role's); UTC when unset. */
  timeZone?: string;
}

/** Sorting and hashing tens of thousands of rows wants more than the default 4 MB. */
const WORK_MEM = "32MB";
const TOP_N = 5;

function scopeSql(scope: Scope): SQL[] {
  const parts: SQL[] = [];
  if (scope.client !== undefined) parts.push(sql`client = ${scope.client}`);
  if (scope.vertical !== undefined) parts.push(sql`vertical = ${scope.vertical}`);
  if (scope.roles !== undefined) {
    // An empty role list covers nothing (a user in no role), not everything.
    parts.push(scope.roles.length > 0 ? sql`role in ${[...scope.roles]}` : sql`false`);
  }
  return parts;
}

function cohortWhere(scope: Scope, window: Window): SQL {
  const since = new Date(window.now.getTime() - window.ms).toISOString();
  const parts = [
    sql`opened_at > ${since}`,
    sql`opened_at <= ${window.now.toISOString()}`,
    ...scopeSql(scope),
  ];
  return sql.join(parts, sql` and `);
}

async function withWorkMem<T>(db: Db, run: (tx: Db) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('work_mem', ${WORK_MEM}, true)`);
    return run(tx as unknown as Db);
  });
}

const asStats = (count: number, values: number[] | null): DurationStats => ({
  count,
  medianMs: values?.[0] ?? null,
  p95Ms: values?.[1] ?? null,
});

/** Counts, breach and resolution figures and the two duration distributions of the cohort. */
export async function cohortTotals(
  db: Db,
  scope: Scope,
  window: Window,
): Promise<Omit<WindowFigures, "perDay" | "topTargets" | "topSkus">> {
  const [row] = await withWorkMem(db, (tx) =>
    tx.execute<{
      opened: number;
      breached: number;
      resolved: number;
      by_retry: number;
      by_recovery: number;
      by_hand: number;
      claimed: number;
      claim_ms: number[] | null;
      resolve_ms: number[] | null;
    }>(sql`
      select count(*)::int as opened,
        count(breached_at)::int as breached,
        count(resolved_at)::int as resolved,
        count(*) filter (where resolution = 'retry')::int as by_retry,
        count(*) filter (where resolution = 'recovered')::int as by_recovery,
        count(*) filter (where resolution = 'manual')::int as by_hand,
        count(first_claimed_at)::int as claimed,
        percentile_cont(array[0.5, 0.95]) within group (
          order by (date_part('epoch', first_claimed_at) - date_part('epoch', opened_at)) * 1000
        ) filter (where first_claimed_at is not null) as claim_ms,
        percentile_cont(array[0.5, 0.95]) within group (
          order by (date_part('epoch', resolved_at) - date_part('epoch', opened_at)) * 1000
        ) filter (where resolved_at is not null) as resolve_ms
      from exceptions where ${cohortWhere(scope, window)}`),
  );
  return {
    opened: row?.opened ?? 0,
    breached: row?.breached ?? 0,
    resolved: row?.resolved ?? 0,
    byRetry: row?.by_retry ?? 0,
    byRecovery: row?.by_recovery ?? 0,
    byHand: row?.by_hand ?? 0,
    toClaim: asStats(row?.claimed ?? 0, row?.claim_ms ?? null),
    toResolve: asStats(row?.resolved ?? 0, row?.resolve_ms ?? null),
  };
}

/** Exceptions opened per day of the window's zone (days with none are left out). */
export async function openedPerDay(
  db: Db,
  scope: Scope,
  window: Window,
): Promise<WindowFigures["perDay"]> {
  // Grouped by date, formatted after: to_char on every row would cost more than the scan.
  const rows = await db.execute<{ day: string; opened: number }>(sql`
    select to_char(day, 'YYYY-MM-DD') as day, opened from (
      select (opened_at at time zone ${window.timeZone ?? "UTC"})::date as day, count(*)::int as opened
      from exceptions where ${cohortWhere(scope, window)} group by 1
    ) days order by 1`);
  return [...rows];
}

/**
 * The stale and over-budget gates are about whole pipelines (their SKU is `pipeline:<name>`,
 * their target a glob): the Freshness section shows them, the top failing lists do not. Told
 * apart by that SKU, a column of the window index: a failure_mode test would fetch every row
 * of the window from the heap (bench:status: /inventory status 30d P95 184 ms against 91 ms).
 */
const notPipelineGate = sql`sku not like 'pipeline:%'`;

export async function topFailingTargets(db: Db, scope: Scope, window: Window): Promise<Failing[]> {
  const rows = await db.execute<{ name: string; failures: number; exceptions: number }>(sql`
    select target_system as name, sum(occurrences)::int as failures, count(*)::int as exceptions
    from exceptions where ${cohortWhere(scope, window)} and ${notPipelineGate}
    group by target_system order by failures desc, name limit ${TOP_N}`);
  return [...rows];
}

export async function topFailingSkus(db: Db, scope: Scope, window: Window): Promise<Failing[]> {
  const rows = await withWorkMem(db, (tx) =>
    tx.execute<{ client: string; sku: string; failures: number; exceptions: number }>(sql`
      select client, sku, sum(occurrences)::int as failures, count(*)::int as exceptions
      from exceptions where ${cohortWhere(scope, window)} and ${notPipelineGate}
      group by client, sku order by failures desc, client, sku limit ${TOP_N}`),
  );
  return rows.map((row) => ({
    name: `${row.client} · ${row.sku}`,
    failures: row.failures,
    exceptions: row.exceptions,
  }));
}

/** Everything the window says, its four queries run side by side. */
export async function windowFigures(db: Db, scope: Scope, window: Window): Promise<WindowFigures> {
  const [totals, perDay, topTargets, topSkus] = await Promise.all([
    cohortTotals(db, scope, window),
    openedPerDay(db, scope, window),
    topFailingTargets(db, scope, window),
    topFailingSkus(db, scope, window),
  ]);
  return { ...totals, perDay, topTargets, topSkus };
}

/** What is open right now per role, and the role's oldest unclaimed exception. */
export async function liveByRole(db: Db, scope: Scope): Promise<LiveRole[]> {
  const where = sql.join([sql`state <> 'resolved'`, ...scopeSql(scope)], sql` and `);
  const openWhere = sql.join([sql`state = 'open'`, ...scopeSql(scope)], sql` and `);
  const [counts, oldest] = await Promise.all([
    db.execute<{
      role: string;
      open: number;
      claimed: number;
      retrying: number;
      breached: number;
    }>(sql`
      select role,
        count(*) filter (where state = 'open')::int as open,
        count(*) filter (where state = 'claimed')::int as claimed,
        count(*) filter (where state = 'retrying')::int as retrying,
        count(breached_at)::int as breached
      from exceptions where ${where} group by role order by role`),
    db.execute<CardRow>(sql`
      select distinct on (role) role, ${cardRefColumns}
      from exceptions where ${openWhere} order by role, opened_at, id`),
  ]);
  const oldestByRole = new Map(oldest.map((row) => [row.role, toCardRef(row)]));
  return counts.map((row) => ({ ...row, oldestUnclaimed: oldestByRole.get(row.role) ?? null }));
}

export async function rejectedSince(db: Db, since: Date): Promise<RejectedFigures> {
  const [row] = await db.execute<{ total: number; unreviewed: number }>(sql`
    select count(*)::int as total, count(*) filter (where reviewed_by is null)::int as unreviewed
    from rejected_events where received_at >= ${since.toISOString()}`);
  return row ?? { total: 0, unreviewed: 0 };
}

// ---- shared row shapes -----------------------------------------------------------------------

export type CardRow = {
  role: string;
  id: number;
  client: string;
  sku: string;
  channel: string;
  card_ts: string | null;
  opened_ms: number;
};

/** A storm member without a card of its own links to its storm's card. */
export const cardRefColumns = sql`id::float8 as id, client, sku, channel,
  coalesce(card_ts, (select s.card_ts from storms s where s.id = storm_id)) as card_ts,
  date_part('epoch', opened_at) * 1000 as opened_ms`;

export function toCardRef(row: CardRow): CardRef {
  return {
    id: Number(row.id),
    client: row.client,
    sku: row.sku,
    channel: row.channel,
    cardTs: row.card_ts,
    openedAt: new Date(Number(row.opened_ms)),
  };
}
