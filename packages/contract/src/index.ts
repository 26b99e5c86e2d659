/**
 * @syncdesk/contract: the producer kit. What syncdesk reads, as zod schemas and TypeScript
 * types, where it reads it (queue and job names, job ids, job options), and helpers that add
 * events to a BullMQ queue the producer owns. The desk imports its contract from here too, so
 * what a producer validates against is what the desk parses with.
 *
 *   import { Queue } from "bullmq";
 *   import { FAILURE_QUEUE, reportSyncFailure } from "@syncdesk/contract";
 *   const failures = new Queue(FAILURE_QUEUE, { connection, prefix: "bull" });
 *   await reportSyncFailure(failures, { eventId, occurredAt, client, sku, ... });
 */
export * from "./delivery-events.js";
export * from "./failure-event.js";
export { instant } from "./fields.js";
export * from "./queues.js";
export * from "./report.js";

// ---- snapshot contract (merge point) --------------------------------------------------------
// The snapshot contract (queue `inventory-snapshots`; src/platform/contracts/snapshot-part.schema.ts
// on its own branch) moves into ./snapshot-part.ts here at merge time, exported like the rest:
//   export * from "./snapshot-part.js";
// with its JSON Schema in src/contract-schemas.ts, its job name in JOB_NAMES (queues.ts) and a
// `reportSnapshotPart` helper beside the others in report.ts.
// ---------------------------------------------------------------------------------------------
