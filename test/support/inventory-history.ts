/**
 * Generated history for the /inventory tests: exceptions, rejected events and routing versions
 * written straight into Postgres with exact times, so every figure can be worked out by hand.
 */
import { fileURLToPath } from "node:url";
import type { FailureEvent } from "../../src/intake/failure-event.schema.js";
import type { Clock } from "../../src/platform/clock.js";
import type { Db } from "../../src/platform/db/db.js";
import {
  exceptions,
  type Resolution,
  type RootCause,
  rejectedEvents,
  routingVersions,
} from "../../src/platform/db/schema.js";

export const INVENTORY_ROUTING = fileURLToPath(
  new URL("../fixtures/routing.inventory.yml", import.meta.url),
);

/** Monday 23 November 2026, 09:00 UTC: the tests' "now". */
export const NOW = new Date("2026-11-23T09:00:00Z");
export const fixedClock: Clock = { now: () => NOW };

const MINUTE = 60_000;
export const minutesAgo = (m: number) => new Date(NOW.getTime() - m * MINUTE);
export const daysAgo = (d: number) => minutesAgo(d * 24 * 60);

export interface HistoryRow {
  role?: "fulfillment-ops" | "ads-ops";
  client?: string;
  sku?: string;
  targetSystem?: string;
  /** "conflict" when omitted. */
  failureMode?: FailureEvent["failureMode"];
  /** The event's vertical (none when omitted). */
  vertical?: string;
  openedAt: Date;
  /** Minutes from opening to the first claim; omitted = never claimed. */
  claimAfter?: number;
  claimedBy?: string;
  /** Minutes from opening to resolution; omitted = unresolved. */
  resolveAfter?: number;
  resolution?: Resolution;
  rootCause?: RootCause | null;
  state?: "open" | "claimed" | "retrying";
  breached?: boolean;
  occurrences?: number;
  canRetry?: boolean;
  cardTs?: string | null;
}

let seq = 0;

/** Inserts one exception episode; returns its id. */
export async function insertException(db: Db, spec: HistoryRow): Promise<number> {
  seq += 1;
  const role = spec.role ?? "fulfillment-ops";
  const client = spec.client ?? "acme";
  const sku = spec.sku ?? `SKU-${seq}`;
  const targetSystem =
    spec.targetSystem ?? (role === "ads-ops" ? "ads.google-merchant" : "storefront.shopify");
  const at = (minutes: number | undefined) =>
    minutes === undefined ? null : new Date(spec.openedAt.getTime() + minutes * MINUTE);
  const resolvedAt = at(spec.resolveAfter);
  const claimedAt = at(spec.claimAfter);
  const claimedBy = spec.claimAfter === undefined ? null : (spec.claimedBy ?? "U0ALICE");
  const resolution = resolvedAt ? (spec.resolution ?? "manual") : null;
  const state = resolvedAt ? "resolved" : (spec.state ?? (claimedBy ? "claimed" : "open"));
  const event: FailureEvent = {
    eventId: `hist-${seq}`,
    occurredAt: spec.openedAt.toISOString(),
    client,
    sku,
    sourceSystem: "erp.netsuite",
    targetSystem,
    operation: "stock_update",
    failureMode: spec.failureMode ?? "conflict",
    error: { message: "stock level conflict" },
    attempts: 3,
    ...(spec.canRetry ? { retry: { queue: "inventory-sync", name: "sync", data: {} } } : {}),
  };
  const [row] = await db
    .insert(exceptions)
    .values({
      fingerprint: `hist-${seq}`,
      client,
      sku,
      vertical: spec.vertical ?? null,
      sourceSystem: "erp.netsuite",
      targetSystem,
      operation: "stock_update",
      failureMode: spec.failureMode ?? "conflict",
      state,
      severity: "normal",
      role,
      ruleIndex: role === "ads-ops" ? 0 : 1,
      firstEvent: event,
      latestEvent: event,
      occurrences: spec.occurrences ?? 1,
      firstSeenAt: spec.openedAt,
      lastSeenAt: spec.openedAt,
      openedAt: spec.openedAt,
      claimedBy,
      claimedAt,
      firstClaimedAt: claimedAt,
      resolvedAt,
      resolvedBy: resolution === "manual" ? claimedBy : null,
      resolution,
      rootCause:
        resolution === "manual"
          ? spec.rootCause === undefined
            ? "source_data"
            : spec.rootCause
          : null,
      breachedAt: spec.breached ? at(role === "ads-ops" ? 60 : 120) : null,
      channel: role === "ads-ops" ? "C0ADS" : "C0FULFILL",
      cardTs:
        spec.cardTs === undefined ? `1700000000.${String(seq).padStart(6, "0")}` : spec.cardTs,
      createdAt: spec.openedAt,
      updatedAt: resolvedAt ?? spec.openedAt,
    })
    .returning({ id: exceptions.id });
  if (!row) throw new Error("insert returned nothing");
  return row.id;
}

export async function insertRejected(
  db: Db,
  spec: { receivedAt: Date; reviewed?: boolean; cardTs?: string },
): Promise<number> {
  seq += 1;
  const [row] = await db
    .insert(rejectedEvents)
    .values({
      sourceJobId: `hist-job-${seq}`,
      eventId: `bad-${seq}`,
      rawText: '{"sku":42}',
      errors: [{ path: "sku", message: "expected string" }],
      receivedAt: spec.receivedAt,
      channel: "C0FULFILL",
      cardTs: spec.cardTs ?? `1700000001.${String(seq).padStart(6, "0")}`,
      reviewedBy: spec.reviewed ? "U0MGR" : null,
      reviewedAt: spec.reviewed ? spec.receivedAt : null,
    })
    .returning({ id: rejectedEvents.id });
  if (!row) throw new Error("insert returned nothing");
  return row.id;
}

/** A routing version activated at `activatedAt` (superseded since, so the active one stays). */
export async function insertRoutingChange(
  db: Db,
  spec: { version: number; activatedAt: Date; decidedBy: string | null; breakGlass?: boolean },
): Promise<void> {
  await db.insert(routingVersions).values({
    version: spec.version,
    text: "roles: {}",
    contentHash: `hist-${spec.version}`,
    status: "superseded",
    source: "slack",
    author: "U0ALICE",
    reason: "test history",
    breakGlass: spec.breakGlass ?? false,
    decidedBy: spec.decidedBy,
    decidedAt: spec.decidedBy ? spec.activatedAt : null,
    activatedAt: spec.activatedAt,
    createdAt: spec.activatedAt,
  });
}
