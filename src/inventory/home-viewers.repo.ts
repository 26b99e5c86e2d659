/** Who has opened the App Home tab: the only people whose tab is republished on changes. */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../platform/db/db.js";
import { homeViewers } from "../platform/db/schema.js";

export async function recordHomeOpened(db: Db, userId: string, at: Date): Promise<void> {
  await db
    .insert(homeViewers)
    .values({ userId, firstOpenedAt: at, lastOpenedAt: at })
    .onConflictDoUpdate({ target: homeViewers.userId, set: { lastOpenedAt: at } });
}

export async function isHomeViewer(db: Db, userId: string): Promise<boolean> {
  const [row] = await db
    .select({ userId: homeViewers.userId })
    .from(homeViewers)
    .where(eq(homeViewers.userId, userId));
  return row !== undefined;
}

/** Home viewers who hold an unresolved exception of the role (they may have left it since). */
export async function homeViewersHolding(db: Db, role: string): Promise<Set<string>> {
  const rows = await db.execute<{ user_id: string }>(sql`
    select distinct e.claimed_by as user_id from exceptions e
    join home_viewers v on v.user_id = e.claimed_by
    where e.state <> 'resolved' and e.role = ${role}`);
  return new Set(rows.map((row) => row.user_id));
}

export async function allHomeViewers(db: Db): Promise<string[]> {
  const rows = await db.select({ userId: homeViewers.userId }).from(homeViewers);
  return rows.map((row) => row.userId);
}
