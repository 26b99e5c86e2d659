/**
 * The inventory-snapshot contract: what a system puts on the `inventory-snapshots` queue to
 * say how much stock it holds, SKU by SKU, at one instant, for reconciliation (src/recon). A
 * snapshot travels in parts of at most 10,000 items (`part` counts from 1 to `parts`); it is
 * complete when all its parts arrived, and a part delivered twice changes nothing. Producers
 * use `publishSnapshot` / `snapshotPublisher`; syncdesk parses every job with the same schema.
 */
import { z } from "zod";
import { instant, text } from "./fields.js";
import { JOB_NAMES, SNAPSHOT_JOB_OPTIONS, SNAPSHOT_QUEUE } from "./queues.js";
import type { ProducerQueue } from "./report.js";

export { SNAPSHOT_QUEUE };
export const SNAPSHOT_JOB = JOB_NAMES.snapshotPart;
/** Items in one part, at most. */
export const SNAPSHOT_PART_SIZE = 10_000;

/**
 * The contract's major version; a part without `schemaVersion` is version 1. Unknown fields
 * are kept (tolerant reader), as in the failure-event contract.
 */
export const SNAPSHOT_PART_VERSIONS = [1] as const;

/** One SKU's stock in one system; several locations of one SKU are summed for the compare. */
export const snapshotItemSchema = z.looseObject({
  sku: text(200),
  quantity: z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(0, "must not be negative")
    .max(Number.MAX_SAFE_INTEGER),
  location: text(200).optional(),
});
export type SnapshotItem = z.infer<typeof snapshotItemSchema>;

/** The fields every part of one snapshot repeats. */
export const snapshotHeaderSchema = z.looseObject({
  schemaVersion: z
    .literal(SNAPSHOT_PART_VERSIONS, {
      error: (issue) =>
        `is ${JSON.stringify(issue.input)}: this desk reads version ${SNAPSHOT_PART_VERSIONS.join(" or ")} of the snapshot contract (leave it out for 1)`,
    })
    .optional(),
  /** The producer's id of the whole snapshot: the same in every part. */
  snapshotId: text(200),
  client: text(100),
  /** The system whose stock this is, e.g. erp.netsuite or storefront.shopify. */
  system: text(100),
  /** When the system's stock was read (every item is as of this instant). */
  takenAt: instant,
});
export type SnapshotHeader = z.input<typeof snapshotHeaderSchema>;

export const snapshotPartSchema = snapshotHeaderSchema
  .extend({
    part: z.int().min(1),
    parts: z.int().min(1).max(100_000),
    items: z.array(snapshotItemSchema).max(SNAPSHOT_PART_SIZE),
  })
  .refine((data) => data.part <= data.parts, {
    path: ["part"],
    message: "must not be greater than parts",
  });

export type SnapshotPartInput = z.input<typeof snapshotPartSchema>;
export type SnapshotPart = z.infer<typeof snapshotPartSchema>;

/** BullMQ job ids may contain neither ':' nor look like integers. */
export function snapshotPartJobId(snapshotId: string, part: number): string {
  return `snapshot-${Buffer.from(snapshotId, "utf8").toString("base64url")}-${part}`;
}

/** Publishes one part, validated here so a producer learns of a bad item at its call site. */
export async function publishSnapshotPart(
  queue: ProducerQueue,
  input: SnapshotPartInput,
): Promise<void> {
  const part = snapshotPartSchema.parse(input);
  await queue.add(SNAPSHOT_JOB, part, {
    jobId: snapshotPartJobId(part.snapshotId, part.part),
    ...SNAPSHOT_JOB_OPTIONS,
  });
}

/**
 * Splits a snapshot into parts as its items arrive and publishes each full part: for a snapshot
 * too big to hold (a file of millions of lines), read it twice, once to count, once to send.
 * `itemCount` fixes `parts`; adding more or fewer items than that throws at `add`/`end`.
 */
export function snapshotPublisher(
  queue: ProducerQueue,
  header: SnapshotHeader & { itemCount: number; partSize?: number },
): { add(item: z.input<typeof snapshotItemSchema>): Promise<void>; end(): Promise<number> } {
  const { itemCount, partSize = SNAPSHOT_PART_SIZE, ...fields } = header;
  if (!Number.isInteger(partSize) || partSize < 1 || partSize > SNAPSHOT_PART_SIZE)
    throw new RangeError(`partSize must be 1..${SNAPSHOT_PART_SIZE}`);
  // An empty snapshot is one empty part: "this system holds nothing" is a statement too.
  const parts = Math.max(1, Math.ceil(itemCount / partSize));
  let buffer: z.input<typeof snapshotItemSchema>[] = [];
  let sent = 0;
  let added = 0;
  const flush = async () => {
    sent += 1;
    const items = buffer;
    buffer = [];
    await publishSnapshotPart(queue, { ...fields, part: sent, parts, items });
  };
  return {
    async add(item) {
      added += 1;
      if (added > itemCount) throw new RangeError(`more items than itemCount (${itemCount})`);
      buffer.push(item);
      if (buffer.length === partSize) await flush();
    },
    async end() {
      if (added !== itemCount)
        throw new RangeError(`${added} items added, itemCount said ${itemCount}`);
      if (buffer.length > 0 || sent < parts) await flush();
      return parts;
    },
  };
}

/** Publishes a snapshot held in memory, split into parts of at most 10,000 items. */
export async function publishSnapshot(
  queue: ProducerQueue,
  header: SnapshotHeader,
  items: readonly z.input<typeof snapshotItemSchema>[],
  options: { partSize?: number } = {},
): Promise<{ parts: number }> {
  const publisher = snapshotPublisher(queue, {
    ...header,
    itemCount: items.length,
    ...(options.partSize ? { partSize: options.partSize } : {}),
  });
  for (const item of items) await publisher.add(item);
  return { parts: await publisher.end() };
}
