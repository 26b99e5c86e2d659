/**
 * What makes failures one storm: the same client, target system and failure mode, owned by the
 * same role (so the storm card has one channel and one set of people who may act on it).
 */
import { createHash } from "node:crypto";

export interface StormKind {
  client: string;
  targetSystem: string;
  failureMode: string;
  role: string;
}

/** Hashed like the exception fingerprint, so the key has a fixed size whatever producers send. */
export function stormKey(kind: StormKind): string {
  const key = JSON.stringify([kind.client, kind.targetSystem, kind.failureMode, kind.role]);
  return createHash("sha256").update(key).digest("hex").slice(0, 32);
}

export function stormLabel(id: number): string {
  return `ST-${id}`;
}
