/**
 * syncdesk on a Redis Cluster: three local `redis-server --cluster-enabled yes` joined by
 * `redis-cli --cluster create`, REDIS_CLUSTER_NODES and a hash-tagged QUEUE_PREFIX. A failure
 * event is taken in, a click claims it, and an SLA timer (a delayed BullMQ job) fires on time;
 * a delivery goes through the delivery WAL (a stream under the prefix) into the figures.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, failureEvent, startHarness } from "../support/harness.js";
import { claim, openedCard, SLA_ROUTING, slaSteps } from "../support/sla.js";
import { useHarness } from "../support/use-harness.js";

const run = promisify(execFile);
let dir = "";
const servers: ChildProcess[] = [];
let nodes = "";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "syncdesk-cluster-"));
  const ports: number[] = [];
  // Cluster bus ports are port + 10000: pick ports whose bus port is free too.
  while (ports.length < 3) {
    const port = await freePort();
    if (port < 55_000 && !ports.includes(port)) ports.push(port);
  }
  for (const port of ports) {
    const child = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, `nodes-${port}.conf`),
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { stdio: "ignore" },
    );
    servers.push(child);
  }
  await eventually(
    async () => {
      for (const port of ports) await run("redis-cli", ["-p", String(port), "ping"]);
      return true;
    },
    15_000,
    "three cluster nodes",
  );
  await run("redis-cli", [
    "--cluster",
    "create",
    ...ports.map((port) => `127.0.0.1:${port}`),
    "--cluster-yes",
  ]);
  await eventually(
    async () => {
      const { stdout } = await run("redis-cli", ["-p", String(ports[0]), "cluster", "info"]);
      return stdout.includes("cluster_state:ok");
    },
    20_000,
    "cluster_state:ok",
  );
  nodes = ports.map((port) => `127.0.0.1:${port}`).join(",");
}, 90_000);

// Registered before the harness, so it runs after the harness closed (hooks unwind as a stack).
afterAll(async () => {
  for (const child of servers) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const h = useHarness(() =>
  startHarness({
    routingFile: SLA_ROUTING,
    env: { REDIS_CLUSTER_NODES: nodes, QUEUE_PREFIX: `{test-${randomUUID().slice(0, 8)}}` },
  }),
);

describe("on a Redis Cluster", () => {
  it("takes in a failure event, claims it on a click, and fires its SLA timer", async () => {
    // quick: claim nudges at 1 s and 2 s.
    await h.report(failureEvent({ client: "quick", sku: "SKU-CLUSTER" }));
    const row = await openedCard(h, "SKU-CLUSTER");
    await eventually(
      async () => (await slaSteps(h, row.id)).length >= 1,
      10_000,
      "the first SLA step",
    );
    const [first] = await slaSteps(h, row.id);
    expect(first?.step).toBe("claim_nudge-0");
    expect(first?.lateMs).toBeLessThan(1000);
    await claim(h, "U0ALICE", row);
    expect((await h.exception(row.id)).state).toBe("claimed");

    // A delivery is staged in the WAL on the cluster (MULTI, XADD) and flushed from it.
    await h.reportOutcome({
      kind: "sync.succeeded",
      client: "quick",
      sku: "SKU-CLUSTER-DELIVERY",
      targetSystem: "storefront.shopify",
      occurredAt: new Date().toISOString(),
    });
    await eventually(
      async () => {
        const [row] = await h.bot.deps.db.execute<{ n: string | null }>(
          sql`select sum(deliveries) as n from delivery_minutes`,
        );
        return Number(row?.n ?? 0) === 1;
      },
      10_000,
      "the delivery counted",
    );
    expect(await h.bot.deps.queues.connection.exists(`${h.env.QUEUE_PREFIX}:deliveries:wal`)).toBe(
      1,
    );

    // The queues and the delivery WAL live on the cluster (one slot, one node), none on the shared Redis.
    const pattern = `${h.env.QUEUE_PREFIX}:*`;
    const keysOn = async (port: string) =>
      (await run("redis-cli", ["-p", port, "--scan", "--pattern", pattern])).stdout.trim();
    const onCluster = await Promise.all(
      nodes.split(",").map((node) => keysOn(node.split(":")[1] ?? "")),
    );
    expect(onCluster.filter(Boolean)).toHaveLength(1);
    expect(await keysOn("6379")).toBe("");
  });
});
