/**
 * The delivery write-ahead log: a Redis stream (the queue's own store, under its prefix, so on
 * a Redis Cluster it shares the queues' hash slot) where workers stage the records of the
 * delivery jobs they judged before those jobs complete. One entry per stage, holding many
 * records as compact JSON (`r`) and their count (`n`). A counter beside it (`…:records`) holds
 * the records staged and not yet removed, the backlog that staging waits on; it moves with the
 * stream atomically (MULTI on append, a script on removal), so it never drifts.
 *
 * Keys: `<QUEUE_PREFIX>:deliveries:wal` and `<QUEUE_PREFIX>:deliveries:wal:records`.
 */
import type { Redis } from "ioredis";
import type { DeliveryRecord } from "./delivery.js";

export interface WalEntry {
  id: string;
  records: DeliveryRecord[];
  /** Its record count as staged (also when its text could not be read: `unreadable`). */
  n: number;
  unreadable?: true;
}

export interface DeliveryWal {
  readonly key: string;
  /** Appends one entry with these records; resolves with its id and the backlog after it. */
  append(records: readonly DeliveryRecord[]): Promise<{ id: string; backlog: number }>;
  /** Records staged and not yet removed (counted or not). */
  backlog(): Promise<number>;
  /** Entries in the stream. */
  length(): Promise<number>;
  /** Entries after `mark`, oldest first, up to about `maxRecords` records (at least one entry). */
  readAfter(mark: string, maxRecords: number): Promise<WalEntry[]>;
  /** Entries at or before `mark`, oldest first, up to about `maxRecords` records. */
  readThrough(mark: string, maxRecords: number): Promise<WalEntry[]>;
  /** Removes these entries; the backlog drops by the records of those still there. */
  remove(entries: readonly WalEntry[]): Promise<void>;
}

export const walKey = (prefix: string) => `${prefix}:deliveries:wal`;

/** Entries per XRANGE round trip. */
const PAGE = 100;
/** Entries per removal script: a flush of one-record entries may remove tens of thousands. */
const REMOVE_CHUNK = 500;

// XDEL one by one so each entry's records leave the backlog only if this call removed it (two
// flushers may remove the same entries); an empty stream resets the counter outright.
const REMOVE = `
local gone = 0
for i = 1, #ARGV, 2 do
  if redis.call('XDEL', KEYS[1], ARGV[i]) == 1 then gone = gone + tonumber(ARGV[i + 1]) end
end
if redis.call('XLEN', KEYS[1]) == 0 then
  redis.call('SET', KEYS[2], 0)
elseif gone > 0 then
  redis.call('DECRBY', KEYS[2], gone)
end
return gone`;

type RawEntry = [id: string, fields: string[]];

function entryOf([id, fields]: RawEntry): WalEntry {
  let n = 0;
  let text = "";
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "n") n = Number(fields[i + 1]);
    else if (fields[i] === "r") text = fields[i + 1] as string;
  }
  try {
    const records = JSON.parse(text) as unknown;
    if (Array.isArray(records)) return { id, n: records.length, records };
  } catch {
    // Reported by the flusher, which removes it: one bad entry must not stop the log.
  }
  return { id, n: Number.isFinite(n) ? n : 0, records: [], unreadable: true };
}

export function openDeliveryWal(redis: Redis, prefix: string): DeliveryWal {
  const key = walKey(prefix);
  const countKey = `${key}:records`;

  const readPages = async (start: string, end: string, maxRecords: number) => {
    const entries: WalEntry[] = [];
    let from = start;
    let records = 0;
    for (;;) {
      const page = (await redis.xrange(key, from, end, "COUNT", PAGE)) as RawEntry[];
      for (const raw of page) {
        const entry = entryOf(raw);
        entries.push(entry);
        records += entry.n;
        if (records >= maxRecords) return entries;
      }
      const last = page.at(-1);
      if (page.length < PAGE || !last) return entries;
      from = `(${last[0]}`;
    }
  };

  return {
    key,
    async append(records) {
      const results = await redis
        .multi()
        .xadd(key, "*", "n", String(records.length), "r", JSON.stringify(records))
        .incrby(countKey, records.length)
        .exec();
      const [added, counted] = results ?? [];
      if (!added || !counted) throw new Error("the delivery WAL append was discarded");
      if (added[0]) throw added[0];
      if (counted[0]) throw counted[0];
      return { id: added[1] as string, backlog: Number(counted[1]) };
    },
    async backlog() {
      return Math.max(0, Number((await redis.get(countKey)) ?? 0));
    },
    length: () => redis.xlen(key),
    readAfter: (mark, maxRecords) => readPages(`(${mark}`, "+", maxRecords),
    readThrough: (mark, maxRecords) => readPages("-", mark, maxRecords),
    async remove(entries) {
      for (let at = 0; at < entries.length; at += REMOVE_CHUNK) {
        const chunk = entries.slice(at, at + REMOVE_CHUNK);
        const args = chunk.flatMap((entry) => [entry.id, String(entry.n)]);
        await redis.eval(REMOVE, 2, key, countKey, ...args);
      }
    },
  };
}
