/** Payloads of the storms feature's internal jobs (registered in src/platform/queue/catalog.ts). */
import { z } from "zod";
import { ROOT_CAUSES } from "../platform/db/schema.js";

const stormId = z.number().int().positive();
const actor = z.object({ userId: z.string().min(1).max(64), name: z.string().max(200) });

/** Post a storm card (`post`), or redraw it from the rows (coalesced: one per storm per slot). */
export const stormCardJob = z.object({ stormId, post: z.boolean().optional() });

/** Is the storm quiet yet? `dueAt` (ms) is when it would be, as scheduled. */
export const stormEndCheckJob = z.object({ stormId, dueAt: z.number().int().nonnegative() });

/** Claim, for the person who claimed the storm, every open member that arrived by `asOf` (ms). */
export const stormClaimMembersJob = z.object({
  stormId,
  actor,
  asOf: z.number().int().nonnegative(),
});

/** Retry all: queue the paced retries of every member `actor` may retry (arrived by `asOf`). */
export const stormRetryAllJob = z.object({
  stormId,
  actor,
  asOf: z.number().int().nonnegative(),
});

/** One member's retry, paced by the job's delay. */
export const stormRetryMemberJob = z.object({
  stormId,
  exceptionId: z.number().int().positive(),
  actor,
});

/** Resolve every unresolved member that arrived by `asOf` (ms) with one note and root cause. */
export const stormResolveMembersJob = z.object({
  stormId,
  actor,
  asOf: z.number().int().nonnegative(),
  note: z.string().min(1).max(2000),
  rootCause: z.enum(ROOT_CAUSES),
});
