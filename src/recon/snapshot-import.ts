/**
 * `npm run snapshot:import -- --client acme --system storefront.shopify \
 *    --taken-at 2026-12-04T02:00:00Z [--snapshot-id ID] stock.csv`
 *
 * Sends a snapshot file through the queue contract in parts of 10,000 items, like any producer.
 * The file is read twice, streaming: once to check every line and count the items (a file with
 * a bad line is refused whole, with line numbers, before anything is sent), once to send.
 * Needs REDIS_URL, QUEUE_PREFIX and SNAPSHOT_QUEUE as the worker reads them, nothing else.
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { z } from "zod";
import { envSchema } from "../env.js";
import { parsedOrUsage } from "../platform/cli.js";
import {
  snapshotHeaderSchema,
  snapshotPublisher,
} from "../platform/contracts/snapshot-part.schema.js";
import { connectRedis } from "../platform/queue/redis.js";
import { connectionSecurity } from "../platform/tls.js";
import { formatOfName, readSnapshotFile } from "./snapshot-file.js";

const SHOWN_ERRORS = 20;

export interface ImportIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE =
  "usage: npm run snapshot:import -- --client C --system S --taken-at ISO-TIME [--snapshot-id ID] [--format csv|ndjson] FILE";

export async function runSnapshotImport(
  argv: string[],
  environment: Record<string, string | undefined>,
  io: ImportIo,
): Promise<number> {
  const args = parsedOrUsage(() => parseCliArgs(argv), io, USAGE);
  if (!args) return 2;
  const header = snapshotHeaderSchema.safeParse({
    snapshotId: args.values["snapshot-id"] ?? randomUUID(),
    client: args.values.client,
    system: args.values.system,
    takenAt: args.values["taken-at"],
  });
  if (!header.success) {
    for (const issue of header.error.issues) io.err(`--${flagOf(issue.path)}: ${issue.message}`);
    return 2;
  }
  const file = args.positionals[0] as string;
  const format = args.values.format ?? formatOfName(file);

  // Pass 1: check and count.
  let items = 0;
  let errors = 0;
  try {
    for await (const line of readSnapshotFile(file, format)) {
      if (line.kind === "item") items += 1;
      else if (line.kind === "error") {
        errors += 1;
        if (errors <= SHOWN_ERRORS) io.err(`${file}:${line.line}: ${line.message}`);
      }
    }
  } catch (error) {
    io.err(`cannot read ${file}: ${(error as Error).message}`);
    return 1;
  }
  if (errors > 0) {
    if (errors > SHOWN_ERRORS) io.err(`…and ${errors - SHOWN_ERRORS} more bad lines`);
    io.err(`${file}: ${errors} bad line(s); nothing was sent`);
    return 1;
  }

  // Pass 2: send.
  const env = envSchema
    .pick({
      REDIS_URL: true,
      REDIS_CLUSTER_NODES: true,
      REDIS_TLS_CA: true,
      QUEUE_PREFIX: true,
      SNAPSHOT_QUEUE: true,
    })
    .parse(environment);
  const security = connectionSecurity(env);
  const redis = connectRedis(
    { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES, prefix: env.QUEUE_PREFIX },
    `snapshot-import:${process.pid}`,
    security.redis,
  );
  const queue = new Queue(env.SNAPSHOT_QUEUE, { connection: redis, prefix: env.QUEUE_PREFIX });
  try {
    const publisher = snapshotPublisher(queue, { ...header.data, itemCount: items });
    for await (const line of readSnapshotFile(file, format)) {
      if (line.kind === "item") await publisher.add(line.item);
    }
    const parts = await publisher.end();
    io.out(
      `sent snapshot ${header.data.snapshotId}: ${items} items of ${header.data.system} for ${header.data.client} in ${parts} part(s) to ${env.SNAPSHOT_QUEUE}`,
    );
    return 0;
  } finally {
    await queue.close();
    await redis.quit();
  }
}

function parseCliArgs(argv: string[]) {
  const parsed = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      client: { type: "string" },
      system: { type: "string" },
      "taken-at": { type: "string" },
      "snapshot-id": { type: "string" },
      format: { type: "string" },
    },
  });
  if (parsed.positionals.length !== 1) throw new Error("name exactly one file");
  const format = z.enum(["csv", "ndjson"]).optional().safeParse(parsed.values.format);
  if (!format.success) throw new Error("--format must be csv or ndjson");
  return { ...parsed, values: { ...parsed.values, format: format.data } };
}

function flagOf(path: PropertyKey[]): string {
  const key = String(path[0] ?? "");
  return key === "takenAt" ? "taken-at" : key === "snapshotId" ? "snapshot-id" : key;
}
