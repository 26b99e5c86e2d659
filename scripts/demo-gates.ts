/**
 * The demo's latency-gate scenes (scripts/demo.ts): a late delivery that pages and then
 * resolves itself saying how late it was, and a stale pipeline that recovers. The demo runs
 * the example routing with acme's storefront pipeline shortened to seconds.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Queue } from "bullmq";
import {
  reportDeliveries,
  reportSyncStarted,
  reportSyncSuccess,
} from "../src/outcomes/outcome-event.schema.js";
import type { ExceptionRow } from "../src/platform/db/schema.js";

export const DEMO_BUDGET = "3s";
export const DEMO_FRESHNESS = "4s";

/**
 * routing.example.yml with the acme storefront pipeline's budget and freshness in seconds and
 * no hours (the demo runs at any time of day), written to a temporary file.
 */
export function demoRouting(examplePath: string): string {
  const text = readFileSync(examplePath, "utf8");
  const pipeline = /( {2}- name: acme-erp-to-shopify\n(?: {4}.*\n)+)/.exec(text);
  if (!pipeline?.[1]) throw new Error("routing.example.yml has no acme-erp-to-shopify pipeline");
  const shortened = pipeline[1]
    .replace(/budget: .*/, `budget: ${DEMO_BUDGET}`)
    .replace(/freshness: .*/, `freshness: ${DEMO_FRESHNESS}`)
    .replace(/ {4}hours: .*\n/, "");
  const path = join(mkdtempSync(join(tmpdir(), "syncdesk-demo-")), "routing.yml");
  writeFileSync(path, text.replace(pipeline[1], shortened));
  return path;
}

export interface DemoStage {
  outcomes: Queue;
  step(time: string, text: string): void;
  say(text?: string): void;
  cards(): Promise<ExceptionRow[]>;
  until<T>(what: string, probe: () => Promise<T | undefined | null | false>): Promise<T>;
  show(row: ExceptionRow): void;
  /** The card's Slack message and thread as text, as the stand-in holds them now. */
  shown(row: ExceptionRow): string;
}

const SHOPIFY = {
  client: "acme",
  sourceSystem: "erp.netsuite",
  targetSystem: "storefront.shopify",
} as const;

export async function latencyGateScenes(stage: DemoStage): Promise<void> {
  const { outcomes, step, say, cards, until, show, shown } = stage;
  const card = (what: string, pick: (row: ExceptionRow) => boolean) =>
    until(what, async () => (await cards()).find((row) => pick(row) && row.cardTs));
  /** A resolved card, once Slack shows it resolved and its thread says why. */
  const resolvedCard = async (what: string, id: number) => {
    const row = await card(what, (r) => r.id === id && r.state === "resolved");
    await until(`${what} in Slack`, async () => /Resolved as recovered/.test(shown(row)));
    return row;
  };

  step(
    "09:31",
    `NetSuite starts a stock update of the joggers to Shopify (sync.started); it never arrives. The pipeline's budget is ${DEMO_BUDGET} in this demo.`,
  );
  const triggeredAt = Date.now();
  await reportSyncStarted(outcomes, {
    kind: "sync.started",
    eventId: "acme-jogger-l-sync-1",
    sku: "ACME-JOGGER-L",
    ...SHOPIFY,
    triggeredAt: new Date(triggeredAt).toISOString(),
  });
  const late = await card("the late-delivery card", (r) => r.sku === "ACME-JOGGER-L");
  show(late);

  step("09:32", "Shopify confirms the joggers after all: the gate resolves its own card.");
  await reportSyncSuccess(outcomes, {
    kind: "sync.succeeded",
    eventId: "acme-jogger-l-sync-1",
    sku: "ACME-JOGGER-L",
    ...SHOPIFY,
    triggeredAt: new Date(triggeredAt).toISOString(),
    occurredAt: new Date().toISOString(),
  });
  show(await resolvedCard("the late delivery resolved", late.id));

  step(
    "09:33",
    `Nothing else flows from NetSuite to Shopify: after ${DEMO_FRESHNESS} of silence the pipeline is stale.`,
  );
  const stale = await card(
    "the stale-pipeline card",
    (r) => r.failureMode === "stale" && r.state !== "resolved",
  );
  show(stale);

  step("09:34", "NetSuite catches up: 30 stock updates reach Shopify in one batch.");
  const now = Date.now();
  await reportDeliveries(
    outcomes,
    Array.from({ length: 30 }, (_, i) => ({
      kind: "sync.succeeded" as const,
      eventId: `acme-catch-up-${i}`,
      sku: `ACME-SKU-${String(i).padStart(3, "0")}`,
      ...SHOPIFY,
      triggeredAt: new Date(now - 400 - i * 70).toISOString(),
      occurredAt: new Date(now).toISOString(),
    })),
  );
  show(await resolvedCard("the stale pipeline resolved", stale.id));
  say(
    "  (the late and stale cards went to #storefront-ops, the pipeline's role, and resolved themselves)",
  );
}
