/** Figures for `/inventory status`: what is open, per role and state, and what waits longest. */
import { sql } from "drizzle-orm";
import type { Db } from "../platform/db/db.js";

export interface RoleStatus {
  role: string;
  open: number;
  claimed: number;
  retrying: number;
  oldestUnclaimed: {
    id: number;
    channel: string;
    cardTs: string | null;
    openedAt: Date;
    client: string;
    sku: string;
  } | null;
}

export async function openByRole(db: Db): Promise<RoleStatus[]> {
  const counts = await db.execute<{ role: string; state: string; n: number }>(sql`
    select role, state, count(*)::int as n from exceptions
    where state <> 'resolved' group by role, state`);
  const oldest = await db.execute<{
    role: string;
    id: number;
    channel: string;
    card_ts: string | null;
    opened_at: string;
    client: string;
    sku: string;
  }>(sql`
    select distinct on (role) role, id::int as id, channel, card_ts, opened_at, client, sku
    from exceptions where state = 'open' order by role, opened_at asc`);
  const byRole = new Map<string, RoleStatus>();
  const entry = (role: string) => {
    let status = byRole.get(role);
    if (!status) {
      status = { role, open: 0, claimed: 0, retrying: 0, oldestUnclaimed: null };
      byRole.set(role, status);
    }
    return status;
  };
  for (const row of counts) {
    const status = entry(row.role);
    if (row.state === "open" || row.state === "claimed" || row.state === "retrying")
      status[row.state] = row.n;
  }
  for (const row of oldest) {
    entry(row.role).oldestUnclaimed = {
      id: row.id,
      channel: row.channel,
      cardTs: row.card_ts,
      openedAt: new Date(row.opened_at),
      client: row.client,
      sku: row.sku,
    };
  }
  return [...byRole.values()].sort((a, b) => a.role.localeCompare(b.role));
}

export async function rejectedSince(
  db: Db,
  since: Date,
): Promise<{ total: number; unreviewed: number }> {
  const [row] = await db.execute<{ total: number; unreviewed: number }>(sql`
    select count(*)::int as total, count(*) filter (where reviewed_by is null)::int as unreviewed
    from rejected_events where received_at >= ${since.toISOString()}`);
  return row ?? { total: 0, unreviewed: 0 };
}
