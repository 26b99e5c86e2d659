/** What the storm bench sends: the events of three clients' storms and the clicks. Pure. */

const KINDS = [
  {
    client: "acme",
    sourceSystem: "erp.netsuite",
    targetSystem: "ads.google-merchant",
    failureMode: "throttled",
    error: {
      message: "429 Too Many Requests: quota exceeded for products.custombatch",
      httpStatus: 429,
    },
    retry: { queue: "feed-publisher", name: "publish", data: { feed: "acme-main" } },
  },
  {
    client: "globex",
    sourceSystem: "wms.shipbob",
    targetSystem: "storefront.shopify",
    failureMode: "partial_write",
    error: { message: "Shopify accepted 40 of 41 variants", code: "PARTIAL", httpStatus: 207 },
  },
  {
    client: "initech",
    sourceSystem: "erp.sap",
    targetSystem: "crm.salesforce",
    failureMode: "network",
    error: { message: "ECONNRESET while calling /services/data/v60.0/composite" },
  },
] as const;

/** SKUs per client: events pick from this pool, so some repeat (occurrences, not new members). */
const SKU_POOL = 2500;
/** One event in this many is malformed (a rejected-event row, never lost). */
const INVALID_EVERY = 333;

/** A deterministic pseudo-random sequence, so two runs send the same storm. */
function lcg(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

export function stormEvents(count: number, runId = Date.now().toString(36)): unknown[] {
  const random = lcg(42);
  const events: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const eventId = `bench-${runId}-${i}`;
    if (i % INVALID_EVERY === INVALID_EVERY - 1) {
      events.push({ eventId, client: kind.client, failureMode: "on_fire", sku: 12 });
      continue;
    }
    const sku = `${kind.client.toUpperCase()}-${String(Math.floor(random() * SKU_POOL)).padStart(5, "0")}`;
    events.push({
      ...kind,
      eventId,
      occurredAt: new Date().toISOString(),
      sku,
      attempts: 5,
      quantity: { expected: Math.floor(random() * 50), observed: 0 },
      retry: "retry" in kind ? { ...kind.retry, data: { ...kind.retry.data, sku } } : undefined,
    });
  }
  return events;
}

export interface Target {
  id: number;
  channel: string;
  ts: string;
}

export interface Click {
  kind: "card-claim" | "storm-claim" | "storm-retryAll" | "storm-resolveAll";
  userId: string;
  id: number;
  channel: string;
  ts: string;
}

/**
 * A mix a busy channel would see: on each storm card, Claim storm by a member, by others and by
 * an outsider (refused), Retry all by a manager (double clicks), Resolve all (opens the modal);
 * the rest are Claim clicks racing on the cards posted before the storms formed.
 */
export function planClicks(count: number, stormCards: Target[], cards: Target[]): Click[] {
  const perStorm: [Click["kind"], string][] = [
    ["storm-claim", "U0ALICE"],
    ...Array.from({ length: 9 }, (): [Click["kind"], string] => ["storm-claim", "U0BOB"]),
    ...Array.from({ length: 10 }, (): [Click["kind"], string] => ["storm-claim", "U0EVE"]),
    ...Array.from({ length: 10 }, (): [Click["kind"], string] => ["storm-retryAll", "U0MGR"]),
    ...Array.from({ length: 15 }, (): [Click["kind"], string] => ["storm-resolveAll", "U0ALICE"]),
  ];
  const clicks: Click[] = [];
  for (const storm of stormCards) {
    for (const [kind, userId] of perStorm) {
      if (clicks.length < count) clicks.push({ kind, userId, ...storm });
    }
  }
  const people = ["U0ALICE", "U0BOB", "U0CAROL", "U0ERIN", "U0EVE"];
  for (let i = 0; clicks.length < count && cards.length > 0; i++) {
    const card = cards[i % cards.length]!;
    clicks.push({ kind: "card-claim", userId: people[i % people.length]!, ...card });
  }
  return clicks;
}
