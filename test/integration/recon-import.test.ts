/**
 * `npm run snapshot:import`: a CSV or NDJSON file goes through the queue contract in parts and
 * becomes a complete snapshot; a file with bad lines is refused whole, by line, and sends nothing.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Job } from "bullmq";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { reconJobHandlers } from "../../src/recon/recon.job.js";
import { runSnapshotImport } from "../../src/recon/snapshot-import.js";
import { eventually } from "../support/harness.js";
import { DESK } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const ROUTING = fileURLToPath(new URL("../fixtures/routing.recon.yml", import.meta.url));
const h = useHarness({ ...DESK, routingFile: ROUTING });
const dir = mkdtempSync(join(tmpdir(), "snapshot-import-"));

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runSnapshotImport(
    args,
    {
      REDIS_URL: h.env.REDIS_URL,
      QUEUE_PREFIX: h.env.QUEUE_PREFIX,
      SNAPSHOT_QUEUE: h.env.SNAPSHOT_QUEUE,
    },
    { out: (line) => out.push(line), err: (line) => err.push(line) },
  );
  return { code, out, err };
}

const header = [
  "--client",
  "acme",
  "--system",
  "storefront.shopify",
  "--taken-at",
  "2026-12-04T02:00:00Z",
];

describe("snapshot:import", () => {
  it("sends a CSV of 25,001 lines in 3 parts and the snapshot completes with every item", async () => {
    const file = join(dir, "stock.csv");
    const lines = ["sku,quantity,location"];
    for (let i = 0; i < 25_001; i += 1) lines.push(`SKU-${i},${i % 7}${i % 2 ? ",berlin" : ""}`);
    writeFileSync(file, `${lines.join("\n")}\n`);
    const result = await run([...header, "--snapshot-id", "import-csv", file]);
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.out[0]).toContain("25001 items of storefront.shopify for acme in 3 part(s)");
    const row = await eventually(
      async () => {
        const [snapshot] = await h.bot.deps.db.execute<Record<string, unknown>>(
          sql`select * from snapshots where id = 'import-csv' and state = 'complete'`,
        );
        return snapshot;
      },
      20_000,
      "the imported snapshot",
    );
    expect(Number(row.item_count)).toBe(25_001);
    expect(row.parts).toBe(3);
  });

  it("refuses a file with bad lines by line number and sends nothing", async () => {
    const file = join(dir, "bad.ndjson");
    writeFileSync(file, '{"sku":"A","quantity":1}\n{"sku":"B","quantity":-2}\nnot json\n');
    const result = await run([...header, "--snapshot-id", "import-bad", file]);
    expect(result.code).toBe(1);
    expect(result.err).toEqual([
      `${file}:2: quantity must not be negative`,
      `${file}:3: not a JSON object`,
      `${file}: 2 bad line(s); nothing was sent`,
    ]);
    expect(await h.producerQueue(h.env.SNAPSHOT_QUEUE).count()).toBe(0);
  });

  it("names a missing or bad flag", async () => {
    const result = await run([
      "--client",
      "acme",
      "--system",
      "x",
      "--taken-at",
      "yesterday",
      "f.csv",
    ]);
    expect(result.code).toBe(2);
    expect(result.err[0]).toMatch(/^--taken-at: /);
  });
});

describe("the nightly run", () => {
  it("reconciles every client of the routing file, recording why nothing could be compared", async () => {
    const handlers = reconJobHandlers(h.bot.deps);
    const tick = { id: "repeat:recon-nightly:1796522400000", timestamp: 1796522400000 } as Job;
    await handlers["recon.nightly"]({}, tick);
    // A redelivered tick adds nothing.
    await handlers["recon.nightly"]({}, tick);
    const runs = await eventually(
      async () => {
        const rows = await h.bot.deps.db.execute<{
          client: string;
          outcome: string;
          reason: string;
          started_by: string;
        }>(
          sql`select client, outcome, reason, started_by from recon_runs where started_by = 'schedule' order by client`,
        );
        return rows.length >= 2 ? rows : undefined;
      },
      15_000,
      "the scheduled runs",
    );
    expect(runs.map((r) => [r.client, r.outcome])).toEqual([
      ["acme", "skipped"],
      ["globex", "skipped"],
    ]);
    // acme's storefront snapshot came in above; its ERP's never did.
    expect(runs[0]?.reason).toContain("no complete snapshot of erp.netsuite taken within 30m");
    expect(runs[1]?.reason).toBe("no complete snapshot of any consumer yet");
  });
});
