/**
 * The rows an outbox message can belong to (its "subject"). Posting a message with a subject
 * records where it went (channel, ts) on that row, through the subject's binding; later rows
 * of the same lane can then edit that message or reply in its thread, found at send time.
 * Every message of a subject goes in the subject's lane, so its post always goes out first.
 *
 * Each owner registers its binding where the relay is started (src/syncdesk.ts); the record
 * type makes leaving one out a compile error.
 */
import { z } from "zod";
import { assertNever } from "../errors.js";

const rowId = z.number().int().positive();

export const outboxSubjectSchema = z.discriminatedUnion("type", [
  /** A rejected event's card (src/intake/rejected.ts). */
  z.object({ type: z.literal("rejected_event"), id: rowId }),
  /** A routing version's approval card (src/routing/approval-card.service.ts). */
  z.object({ type: z.literal("routing_version"), id: rowId }),
  /** One message of a weekly digest (src/inventory/digest.job.ts). */
  z.object({
    type: z.literal("digest_delivery"),
    digestKey: z.string().min(1),
    role: z.string().min(1),
    target: z.string().min(1),
  }),
  /** The day's grouped card of rejected delivery events (src/deliveries/rejections.ts). */
  z.object({
    type: z.literal("delivery_rejections"),
    day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  }),
]);
export type OutboxSubject = z.infer<typeof outboxSubjectSchema>;
export type OutboxSubjectType = OutboxSubject["type"];
export type SubjectOf<T extends OutboxSubjectType> = Extract<OutboxSubject, { type: T }>;

export interface PostedAt {
  channel: string;
  ts: string;
}

export interface SubjectBinding<S extends OutboxSubject> {
  /**
   * Records where the subject's message went. Idempotent: an attempt resumed after a crash
   * that finds its earlier post through metadata records it again.
   */
  record(subject: S, posted: PostedAt): Promise<void>;
  /** Where the subject's message is (for edits and replies); undefined if never posted. */
  locate?(subject: S): Promise<PostedAt | undefined>;
}

export type SubjectBindings = { [T in OutboxSubjectType]: SubjectBinding<SubjectOf<T>> };

/** The binding of a subject, typed to it. */
export function bindingOf<S extends OutboxSubject>(
  bindings: SubjectBindings,
  subject: S,
): SubjectBinding<S> {
  return bindings[subject.type] as unknown as SubjectBinding<S>;
}

/** The lane of a subject's messages: its post, edits and replies go out in order. */
export function subjectLane(subject: OutboxSubject): string {
  switch (subject.type) {
    case "rejected_event":
      return `rejected-${subject.id}`;
    case "routing_version":
      return `routing-v${subject.id}`;
    case "digest_delivery":
      return `digest-${subject.target}`;
    case "delivery_rejections":
      return `delivery-rejections-${subject.day}`;
    default:
      return assertNever(subject);
  }
}
