/**
 * Reconciliation, from snapshots to runs: parts through the queue contract make a snapshot
 * complete once (a redelivered part changes nothing); bad parts and snapshots are refused with
 * their reason, kept and shown to the owner, and never compared; a pair of complete snapshots
 * is compared in Postgres when the second completes, with the evidence audited and the report
 * posted to the owner's channel. Cards show the source of truth.
 */
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  publishSnapshot,
  SNAPSHOT_JOB,
  snapshotPartJobId,
} from "../../src/platform/contracts/snapshot-part.schema.js";
import { expireStaleSnapshots } from "../../src/recon/snapshots.job.js";
import { eventually, failureEvent } from "../support/harness.js";
import { cardOf, DESK, posted, textOf } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const ROUTING = fileURLToPath(new URL("../fixtures/routing.recon.yml", import.meta.url));
const h = useHarness({ ...DESK, routingFile: ROUTING });

const queue = () => h.producerQueue(h.env.SNAPSHOT_QUEUE);
let seq = 0;
const newId = (what: string) => `${what}-${++seq}-${Date.now()}`;

async function snapshotRow(id: string) {
  const [row] = await h.bot.deps.db.execute<Record<string, unknown>>(
    sql`select * from snapshots where id = ${id}`,
  );
  return row;
}

async function settled(id: string, states = ["complete", "rejected", "expired"]) {
  return eventually(
    async () => {
      const row = await snapshotRow(id);
      return row && states.includes(String(row.state)) ? row : undefined;
    },
    15_000,
    `snapshot ${id} settled`,
  );
}

async function rejections(snapshotId: string) {
  return h.bot.deps.db.execute<{ reason: string; detail: string; part: number | null }>(
    sql`select reason, detail, part from snapshot_rejections where snapshot_id = ${snapshotId} order by id`,
  );
}

const channelTexts = (channel: string) =>
  h.fake.messages(channel).map((message) => textOf(message as never));

describe("snapshots in", () => {
  it("completes a snapshot sent in parts once, and a redelivered part changes nothing", async () => {
    const snapshotId = newId("parts");
    const items = [
      { sku: "A-1", quantity: 5 },
      { sku: "A-2", quantity: 0, location: "berlin" },
      { sku: "A-2", quantity: 3, location: "hamburg" },
      { sku: "A-3", quantity: 7 },
      { sku: "A-4", quantity: 1 },
    ];
    const header = {
      snapshotId,
      client: "globex",
      system: "wms.shipbob",
      takenAt: "2026-12-04T02:00:00Z",
    };
    const { parts } = await publishSnapshot(queue(), header, items, { partSize: 2 });
    expect(parts).toBe(3);
    const row = await settled(snapshotId);
    expect(row).toMatchObject({ state: "complete", parts: 3, parts_received: 3 });
    expect(Number(row.item_count)).toBe(5);
    // Two locations of A-2 are one SKU for the compare.
    expect(Number(row.sku_count)).toBe(4);
    expect(String(row.content_hash)).toMatch(/^[0-9a-f]{64}$/);

    // The same part again under another job id (a producer that resends): nothing changes.
    await queue().add(
      SNAPSHOT_JOB,
      { ...header, part: 1, parts: 3, items: items.slice(0, 2) },
      { jobId: `${snapshotPartJobId(snapshotId, 1)}-again` },
    );
    const job = await queue().getJob(`${snapshotPartJobId(snapshotId, 1)}-again`);
    await eventually(async () => (await job?.isCompleted()) && true, 10_000, "resent part done");
    expect(await job?.getState()).toBe("completed");
    expect((await queue().getJob(`${snapshotPartJobId(snapshotId, 1)}-again`))?.returnvalue).toBe(
      "redelivered",
    );
    const again = await snapshotRow(snapshotId);
    expect(Number(again?.item_count)).toBe(5);
    expect(again?.content_hash).toBe(row.content_hash);
  });

  it("refuses duplicate SKU lines, naming them to the owner, and never compares the snapshot", async () => {
    const snapshotId = newId("dupes");
    await publishSnapshot(
      queue(),
      {
        snapshotId,
        client: "globex",
        system: "storefront.shopify",
        takenAt: "2026-12-04T02:00:00Z",
      },
      [
        { sku: "D-1", quantity: 1 },
        { sku: "D-2", quantity: 2 },
        { sku: "D-1", quantity: 4 },
      ],
      { partSize: 2 },
    );
    const row = await settled(snapshotId);
    expect(row.state).toBe("rejected");
    expect(String(row.reason)).toContain("D-1 (2 lines)");
    const kept = await eventually(async () => (await rejections(snapshotId))[0], 10_000, "kept");
    expect(kept.reason).toBe("duplicate_skus");
    await eventually(
      async () => channelTexts("C0FULFILL").find((text) => text.includes(snapshotId)),
      10_000,
      "owner told",
    );
    const told = channelTexts("C0FULFILL").find((text) => text.includes(snapshotId)) ?? "";
    expect(told).toContain("refused, never summed");
    const [items] = await h.bot.deps.db.execute<{ n: string }>(
      sql`select count(*) as n from snapshot_items where snapshot_key = ${row.key}`,
    );
    expect(Number(items?.n)).toBe(0);
  });

  it("refuses a part whose count disagrees with the snapshot's, and one that breaks the contract", async () => {
    const header = { client: "acme", system: "erp.netsuite", takenAt: "2026-12-04T02:00:00Z" };
    const mismatched = newId("count");
    await queue().add(SNAPSHOT_JOB, {
      ...header,
      snapshotId: mismatched,
      part: 1,
      parts: 3,
      items: [],
    });
    await settled(mismatched, ["receiving"]);
    await queue().add(SNAPSHOT_JOB, {
      ...header,
      snapshotId: mismatched,
      part: 2,
      parts: 2,
      items: [{ sku: "X", quantity: 1 }],
    });
    const row = await settled(mismatched, ["rejected"]);
    expect(String(row.reason)).toContain("says the snapshot has 2 parts; its first part said 3");
    await eventually(async () => (await rejections(mismatched)).length > 0, 10_000, "kept");
    expect((await rejections(mismatched)).map((r) => r.reason)).toEqual(["parts_mismatch"]);

    const negative = newId("negative");
    await queue().add(SNAPSHOT_JOB, {
      ...header,
      snapshotId: negative,
      part: 1,
      parts: 1,
      items: [
        { sku: "N-1", quantity: -3 },
        { sku: "N-2", quantity: 1.5 },
        { sku: "", quantity: 1 },
      ],
    });
    const kept = await eventually(async () => (await rejections(negative))[0], 10_000, "kept");
    expect(kept.reason).toBe("contract");
    expect(kept.detail).toContain("items.0.quantity must not be negative");
    expect(kept.detail).toContain("items.1.quantity must be a whole number");
    expect(kept.detail).toContain("items.2.sku must not be empty");
    // Owners of acme are storefront-ops.
    await eventually(
      async () => channelTexts("C0STORE").find((text) => text.includes(negative)),
      10_000,
      "acme's owner told",
    );
    expect(await snapshotRow(negative)).toBeUndefined();
  });

  it("expires a snapshot that never arrives whole within RECON_WINDOW, and refuses its late parts", async () => {
    const snapshotId = newId("late");
    const header = {
      snapshotId,
      client: "globex",
      system: "wms.shipbob",
      takenAt: "2026-12-04T03:00:00Z",
    };
    await queue().add(SNAPSHOT_JOB, {
      ...header,
      part: 1,
      parts: 2,
      items: [{ sku: "L", quantity: 1 }],
    });
    await settled(snapshotId, ["receiving"]);
    const later = new Date(Date.now() + h.env.RECON_WINDOW + 60_000);
    const expired = await expireStaleSnapshots({ ...h.bot.deps, clock: { now: () => later } });
    expect(expired).toBeGreaterThanOrEqual(1);
    const row = await settled(snapshotId, ["expired"]);
    await eventually(async () => (await rejections(snapshotId)).length > 0, 10_000, "kept");
    expect(String(row.reason)).toContain("not whole within 30m");
    expect((await rejections(snapshotId)).map((r) => r.reason)).toEqual(["expired"]);
    await queue().add(SNAPSHOT_JOB, { ...header, part: 2, parts: 2, items: [] });
    await eventually(async () => (await rejections(snapshotId)).length === 2, 10_000, "late part");
    expect((await rejections(snapshotId)).map((r) => r.reason)).toEqual(["expired", "closed"]);
  });
});

describe("reconciliation runs", () => {
  it("compares a pair when its second snapshot completes, audits the evidence and reports to the owner", async () => {
    const takenAt = "2026-12-05T02:00:00Z";
    const source = newId("erp");
    const consumer = newId("shop");
    await publishSnapshot(
      queue(),
      { snapshotId: source, client: "acme", system: "erp.netsuite", takenAt },
      [
        { sku: "S-1", quantity: 10 },
        { sku: "S-2", quantity: 5 },
        { sku: "S-3", quantity: 8 },
        { sku: "S-4", quantity: 1 },
      ],
    );
    await settled(source);
    await publishSnapshot(
      queue(),
      {
        snapshotId: consumer,
        client: "acme",
        system: "storefront.shopify",
        takenAt: "2026-12-05T02:10:00Z",
      },
      [
        { sku: "S-1", quantity: 10 },
        { sku: "S-2", quantity: 2 },
        { sku: "S-3", quantity: 9, location: "a" },
        { sku: "S-3", quantity: 1, location: "b" },
        { sku: "S-9", quantity: 4 },
      ],
    );
    const run = await eventually(
      async () => {
        const [row] = await h.bot.deps.db.execute<Record<string, unknown>>(
          sql`select * from recon_runs where client = 'acme' and system = 'storefront.shopify' and outcome = 'compared'`,
        );
        return row;
      },
      15_000,
      "the run",
    );
    expect(run).toMatchObject({
      source_system: "erp.netsuite",
      started_by: "snapshot",
      tolerance: 0,
    });
    expect([run.matched, run.mismatched, run.missing, run.unexpected].map(Number)).toEqual([
      1, 2, 1, 1,
    ]);
    // |2-5| + |10-8| + |0-1| + |4-0|
    expect(Number(run.abs_delta_sum)).toBe(10);
    const deltas = await h.bot.deps.db.execute<Record<string, unknown>>(
      sql`select sku, class, source_quantity, consumer_quantity, delta from recon_deltas where run_id = ${run.id} order by sku`,
    );
    expect(deltas.map((d) => [d.sku, d.class, Number(d.delta)])).toEqual([
      ["S-2", "mismatch", -3],
      ["S-3", "mismatch", 2],
      ["S-4", "missing", -1],
      ["S-9", "unexpected", 4],
    ]);
    const [audit] = await h.bot.deps.db.execute<{ details: Record<string, unknown> }>(
      sql`select details from audit_log where action = 'recon.run' and (details->>'runId')::int = ${run.id}`,
    );
    expect(audit?.details).toMatchObject({
      startedBy: "snapshot",
      source: { id: source, takenAt: "2026-12-05T02:00:00.000Z", itemCount: 4, skuCount: 4 },
      consumer: { id: consumer, itemCount: 5, skuCount: 4 },
      tolerance: 0,
      counts: { matched: 1, mismatch: 2, missing: 1, unexpected: 1 },
      absDeltaSum: 10,
      deltaHash: run.delta_hash,
    });
    const report = await eventually(
      async () =>
        channelTexts("C0STORE").find((text) => text.includes(`Reconciliation #${run.id}`)),
      10_000,
      "the report",
    );
    expect(report).toContain("4 SKUs differ");
    expect(report).toContain("`S-9` unexpected in consumer: source —, consumer 4 (+4)");
    expect(report.indexOf("S-9")).toBeLessThan(report.indexOf("S-4"));
    // The full list as a CSV file in the owner's channel (files.uploadV2's three steps).
    const file = await eventually(
      async () =>
        h.fake.uploadedFiles().find((f) => f.filename.startsWith(`recon-${run.id}-`) && f.bytes),
      10_000,
      "the CSV file",
    );
    expect(file.bytes?.toString("utf8")).toBe(
      "sku,class,source_quantity,consumer_quantity,delta\nS-2,mismatch,5,2,-3\nS-3,mismatch,8,10,2\nS-4,missing,1,,-1\nS-9,unexpected,,4,4\n",
    );
    await eventually(
      async () =>
        h.fake.callsTo("files.completeUploadExternal").find((c) => c.body.channel_id === "C0STORE"),
      10_000,
      "the file shared in the owner's channel",
    );
  });

  it("shows the source of truth for the card's target and flags an event from another system", async () => {
    await h.report(
      failureEvent({
        client: "acme",
        sku: "SOT-1",
        sourceSystem: "pim.akeneo",
        targetSystem: "storefront.shopify",
      }),
    );
    const [row] = await posted(h, "SOT-1");
    const text = textOf(await cardOf(h, row!.id));
    expect(text).toContain("source of truth: erp.netsuite");
    expect(text).toContain("Came from pim.akeneo, not the source of truth for storefront.shopify");
  });
});

describe("/inventory recon", () => {
  let asked = 0;
  async function inventory(text: string, userId: string) {
    asked += 1;
    const id = `recon-${asked}`;
    const res = await h.slack.command({
      command: "/inventory",
      text,
      userId,
      channelId: "C0STORE",
      responseUrl: h.fake.responseUrl(id),
    });
    expect(res.status).toBe(200);
    const answer = (await h.fake.waitForResponse(id)) as { text?: string };
    return answer.text ?? "";
  }

  it("lets a manager of the owner role start a run and lists it; refuses a member", async () => {
    expect(await inventory("recon run acme", "U0CAROL")).toContain(
      "Only managers of storefront-ops (acme's owner) and admins may start a reconciliation.",
    );
    const before = await h.bot.deps.db.execute(
      sql`select id from recon_runs where started_by = 'U0MGR2'`,
    );
    expect(before.length).toBe(0);
    expect(await inventory("recon run acme", "U0MGR2")).toContain("the report goes to <#C0STORE>");
    const run = await eventually(
      async () => {
        const [row] = await h.bot.deps.db.execute<{ id: number }>(
          sql`select id from recon_runs where started_by = 'U0MGR2' and outcome = 'compared'`,
        );
        return row;
      },
      15_000,
      "the manager's run",
    );
    const listed = await inventory("recon acme", "U0CAROL");
    expect(listed).toContain(`#${run.id} `);
    expect(listed).toContain(
      "storefront.shopify vs erp.netsuite · 1 matched · 2 mismatch · 1 missing · 1 unexpected",
    );
    expect(listed).toContain("<@U0MGR2>");
    // Same pair, same result: the evidence replays.
    const hashes = await h.bot.deps.db.execute<{ delta_hash: string }>(
      sql`select distinct delta_hash from recon_runs where client = 'acme' and outcome = 'compared'`,
    );
    expect(hashes.length).toBe(1);
    expect(await inventory("recon run nobody", "U0ADMIN")).toContain("No client `nobody`");
  });
});
