/** The live facts the Monday checklist is judged on, one small indexed query each. */
import { sql } from "drizzle-orm";
import type { Db } from "../platform/db/db.js";
import type { ChecklistFacts, RoutingChange } from "./checklist.js";
import { DAY_MS, HOUR_MS } from "./command-args.js";
import { liveExceptions } from "./live.repo.js";
import { type CardRow, cardRefColumns, toCardRef } from "./status.repo.js";

/** How many offenders a line links to. */
const EXAMPLES = 3;

/** Distinct clients with an exception opened since `since`: a skip scan of (client, opened_at). */
export async function clientsSeenSince(db: Db, since: Date): Promise<string[]> {
  const rows = await db.execute<{ client: string }>(sql`
    with recursive clients as (
      select min(client) as client from exceptions
      union all
      select (select min(client) from exceptions where client > clients.client)
      from clients where clients.client is not null
    )
    select client from clients
    where client is not null and exists (
      select 1 from exceptions e where e.client = clients.client and e.opened_at >= ${since.toISOString()}
    )`);
  return rows.map((row) => row.client);
}

export async function unreviewedRejections(
  db: Db,
  since: Date,
): Promise<ChecklistFacts["unreviewedRejections"]> {
  const [counted, oldest] = await Promise.all([
    db.execute<{ n: number }>(sql`
      select count(*)::int as n from rejected_events
      where received_at >= ${since.toISOString()} and reviewed_by is null`),
    db.execute<{ id: number; channel: string | null; card_ts: string | null }>(sql`
      select id::float8 as id, channel, card_ts from rejected_events
      where received_at >= ${since.toISOString()} and reviewed_by is null
      order by received_at, id limit ${EXAMPLES}`),
  ]);
  return {
    count: counted[0]?.n ?? 0,
    examples: oldest.map((row) => ({
      id: Number(row.id),
      channel: row.channel,
      cardTs: row.card_ts,
    })),
  };
}

export async function routingChangesSince(db: Db, since: Date): Promise<RoutingChange[]> {
  const rows = await db.execute<{
    version: number;
    decided_by: string | null;
    break_glass: boolean;
    activated_ms: number;
  }>(sql`
    select version, decided_by, break_glass, date_part('epoch', activated_at) * 1000 as activated_ms
    from routing_versions where activated_at >= ${since.toISOString()} order by version`);
  return rows.map((row) => ({
    version: row.version,
    decidedBy: row.decided_by,
    breakGlass: row.break_glass,
    activatedAt: new Date(Number(row.activated_ms)),
  }));
}

export async function manualWithoutRootCause(
  db: Db,
  since: Date,
): Promise<ChecklistFacts["manualWithoutRootCause"]> {
  const where = sql`resolution = 'manual' and root_cause is null and resolved_at >= ${since.toISOString()}`;
  const [counted, examples] = await Promise.all([
    db.execute<{ n: number }>(sql`select count(*)::int as n from exceptions where ${where}`),
    db.execute<CardRow>(sql`
      select role, ${cardRefColumns} from exceptions where ${where}
      order by resolved_at, id limit ${EXAMPLES}`),
  ]);
  return { count: counted[0]?.n ?? 0, examples: examples.map(toCardRef) };
}

/** Duplicate deliveries suppressed and bad delivery events grouped since `since`. */
export async function deliveryQa(db: Db, since: Date): Promise<ChecklistFacts["qa"]> {
  const [duplicates, rejected] = await Promise.all([
    db.execute<{ n: string | number }>(sql`
      select coalesce(sum(duplicates), 0) as n from delivery_hours
      where hour >= date_trunc('hour', ${since.toISOString()}::timestamptz)`),
    db.execute<{ n: string | number }>(sql`
      select coalesce(sum(count), 0) as n from delivery_rejections
      where last_seen_at >= ${since.toISOString()}::timestamptz`),
  ]);
  return {
    duplicates: Number(duplicates[0]?.n ?? 0),
    rejectedDeliveries: Number(rejected[0]?.n ?? 0),
  };
}

/** Every fact at once; each line's window ends at `now`. Pipelines' freshness comes from the caller. */
export async function checklistFacts(
  db: Db,
  now: Date,
  pipelines: ChecklistFacts["pipelines"],
): Promise<ChecklistFacts> {
  const ago = (ms: number) => new Date(now.getTime() - ms);
  const [clientsSeen, live, unreviewed, routingChanges, manual, qa] = await Promise.all([
    clientsSeenSince(db, ago(30 * DAY_MS)),
    liveExceptions(db),
    unreviewedRejections(db, ago(24 * HOUR_MS)),
    routingChangesSince(db, ago(7 * DAY_MS)),
    manualWithoutRootCause(db, ago(7 * DAY_MS)),
    deliveryQa(db, ago(24 * HOUR_MS)),
  ]);
  return {
    clientsSeen,
    live,
    unreviewedRejections: unreviewed,
    routingChanges,
    manualWithoutRootCause: manual,
    pipelines,
    qa,
  };
}
