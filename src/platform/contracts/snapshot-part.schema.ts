/**
 * The inventory-snapshot contract, as the desk reads it. Its single definition is the producer
 * kit (`packages/contract/src/snapshot-part.ts`, the npm workspace `@syncdesk/contract`).
 */
export {
  publishSnapshot,
  publishSnapshotPart,
  SNAPSHOT_JOB,
  SNAPSHOT_JOB_OPTIONS,
  SNAPSHOT_PART_SIZE,
  SNAPSHOT_PART_VERSIONS,
  SNAPSHOT_QUEUE,
  type SnapshotHeader,
  type SnapshotItem,
  type SnapshotPart,
  type SnapshotPartInput,
  snapshotHeaderSchema,
  snapshotItemSchema,
  snapshotPartJobId,
  snapshotPartSchema,
  snapshotPublisher,
} from "@syncdesk/contract";
