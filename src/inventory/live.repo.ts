/**
 * Unresolved exceptions as list items, for `/inventory mine`, the Home tab and the checklist.
 * Unresolved rows are a small, indexed slice of the history (`exceptions_live_role`,
 * `exceptions_claimed_by`), so they are read whole and judged by the pure SLA code.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../platform/db/db.js";
import type { LiveException } from "./sla-state.js";

export interface LiveFilter {
  roles?: readonly string[];
  client?: string;
  claimedBy?: string;
}

type LiveRow = {
  id: number;
  role: string;
  rule_index: number;
  state: LiveException["state"];
  claimed_by: string | null;
  opened_ms: number;
  breached_ms: number | null;
  client: string;
  sku: string;
  target_system: string;
  failure_mode: string;
  severity: string;
  channel: string;
  card_ts: string | null;
  can_retry: boolean;
};

export async function liveExceptions(db: Db, filter: LiveFilter = {}): Promise<LiveException[]> {
  const parts: SQL[] = [sql`state <> 'resolved'`];
  if (filter.roles !== undefined) {
    parts.push(filter.roles.length > 0 ? sql`role in ${[...filter.roles]}` : sql`false`);
  }
  if (filter.client !== undefined) parts.push(sql`client = ${filter.client}`);
  if (filter.claimedBy !== undefined) parts.push(sql`claimed_by = ${filter.claimedBy}`);
  const rows = await db.execute<LiveRow>(sql`
    select id::float8 as id, role, rule_index, state, claimed_by,
      date_part('epoch', opened_at) * 1000 as opened_ms,
      date_part('epoch', breached_at) * 1000 as breached_ms,
      client, sku, target_system, failure_mode, severity, channel,
      -- A storm member without a card of its own is shown through its storm's card.
      coalesce(card_ts, (select s.card_ts from storms s where s.id = storm_id)) as card_ts,
      (latest_event ? 'retry') as can_retry
    from exceptions where ${sql.join(parts, sql` and `)}
    order by opened_at, id`);
  return rows.map((row) => ({
    id: Number(row.id),
    role: row.role,
    ruleIndex: row.rule_index,
    state: row.state,
    claimedBy: row.claimed_by,
    openedAt: new Date(Number(row.opened_ms)),
    breachedAt: row.breached_ms === null ? null : new Date(Number(row.breached_ms)),
    client: row.client,
    sku: row.sku,
    targetSystem: row.target_system,
    failureMode: row.failure_mode,
    severity: row.severity,
    channel: row.channel,
    cardTs: row.card_ts,
    canRetry: row.can_retry,
  }));
}
