/**
 * Redis stream entry ids (`<ms>-<seq>`), pure. They order as pairs of integers, not as text
 * ("9-0" < "10-0"), and a sequence may pass 2^53: compared with BigInt.
 */

/** The id before any entry: a mark no entry has passed. */
export const STREAM_START = "0-0";

export function parseStreamId(id: string): [bigint, bigint] {
  const match = /^(\d+)-(\d+)$/.exec(id);
  if (!match) throw new Error(`not a stream entry id: ${id}`);
  return [BigInt(match[1] as string), BigInt(match[2] as string)];
}

/** < 0, 0 or > 0 as `a` comes before, is, or comes after `b`. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = parseStreamId(a);
  const [bMs, bSeq] = parseStreamId(b);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

/** The later of two ids. */
export function laterStreamId(a: string, b: string): string {
  return compareStreamIds(a, b) >= 0 ? a : b;
}
