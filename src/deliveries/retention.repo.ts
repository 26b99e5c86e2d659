/**
 * Pruning of delivery rows, for the retention job (RETENTION_DELIVERIES): minute rows, the
 * eventIds remembered for dedupe and started deliveries that never ended go by minute; hour
 * rows are kept longer (the 30-day windows read them). Each statement deletes by an indexed
 * time column, so a prune is a range delete.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../platform/db/db.js";

export interface DeliveryPrune {
  minutes: number;
  hours: number;
  seen: number;
  inflight: number;
  rejectionGroups: number;
}

export async function pruneDeliveries(
  db: Db,
  cutoffs: { minutesBefore: Date; hoursBefore: Date },
): Promise<DeliveryPrune> {
  const minute = cutoffs.minutesBefore.toISOString();
  const hour = cutoffs.hoursBefore.toISOString();
  const count = async (statement: ReturnType<typeof sql>) =>
    Number((await db.execute<{ n: string }>(statement))[0]?.n ?? 0);
  const [minutes, seen, inflight, rejectionGroups, hours] = await Promise.all([
    count(
      sql`with d as (delete from delivery_minutes where minute < ${minute}::timestamptz returning 1) select count(*) as n from d`,
    ),
    count(
      sql`with d as (delete from delivery_seen where minute < ${minute}::timestamptz returning 1) select count(*) as n from d`,
    ),
    // A start whose end never came leaks nothing past the window.
    count(
      sql`with d as (delete from delivery_inflight where started_at < ${minute}::timestamptz returning 1) select count(*) as n from d`,
    ),
    count(
      sql`with d as (delete from delivery_rejections where last_seen_at < ${hour}::timestamptz returning 1) select count(*) as n from d`,
    ),
    count(
      sql`with d as (delete from delivery_hours where hour < ${hour}::timestamptz returning 1) select count(*) as n from d`,
    ),
  ]);
  await db.execute(sql`delete from delivery_rejection_cards where day < ${hour.slice(0, 10)}`);
  return { minutes, hours, seen, inflight, rejectionGroups };
}
