/**
 * Outbox messages: thread replies, DMs and cards of other rows that must go out exactly once.
 * Each carries its dedupe key in Slack message metadata; an attempt that may already have
 * reached Slack looks for that key in the thread (conversations.replies) or conversation
 * (conversations.history) before posting again. A message may belong to a subject (a row of
 * ours, see outbox-subjects.ts): its post is recorded on that row, and later rows of its
 * lane edit that message or reply in its thread.
 */
import type { WebClient } from "@slack/web-api";
import { z } from "zod";
import type { Queryable } from "../db/db.js";
import type { Logger } from "../logger.js";
import { enqueueOutbox, type OutboxRow } from "./outbox.repo.js";
import type { Delivery, OutboxHandler } from "./outbox-relay.js";
import {
  bindingOf,
  type OutboxSubject,
  outboxSubjectSchema,
  type SubjectBindings,
  subjectLane,
} from "./outbox-subjects.js";
import { classifySlackError } from "./slack-errors.js";

export const OUTBOX_METADATA_TYPE = "syncdesk_message";

/** The stored payload of a message row. */
export const messagePayloadSchema = z.object({
  text: z.string().min(1),
  blocks: z.array(z.record(z.string(), z.unknown())).optional(),
  /** A reply in this thread of `channel` (card-thread replies resolve theirs at send time). */
  threadTs: z.string().optional(),
  /** The row this message belongs to. */
  subject: outboxSubjectSchema.optional(),
  /**
   * With a subject: `post` (the default) posts to `channel` and records where it went on the
   * subject's row; `edit` updates that recorded message; `reply` posts in its thread.
   */
  mode: z.enum(["post", "edit", "reply"]).optional(),
  /** Without a subject: updates this message of `channel` (e.g. a moved exception's old card). */
  editTs: z.string().optional(),
});
export type MessagePayload = z.infer<typeof messagePayloadSchema>;
/** What callers hand in (Block Kit builders return plain objects); checked on the way in. */
export interface MessageInput {
  text: string;
  blocks?: object[];
  threadTs?: string;
}

export type QueuedMessage = MessageInput & {
  /** Unique per message: queueing the same key again (a job run twice) is one message. */
  dedupeKey: string;
  /** Channel or user id; unset for an edit or reply (the subject's message says where). */
  channel?: string;
} & (
    | { lane: string; subject?: undefined; mode?: undefined; editTs?: string }
    /** A subject's messages always go in its lane, so its post goes out before the rest. */
    | { subject: OutboxSubject; mode?: MessagePayload["mode"]; lane?: undefined }
  );

/** Queues a message; use inside the transaction of the change it announces. */
export async function queueMessage(db: Queryable, message: QueuedMessage): Promise<void> {
  const { lane, dedupeKey, channel, ...payload } = message;
  await enqueueOutbox(db, [
    {
      lane: payload.subject ? subjectLane(payload.subject) : (lane as string),
      kind: "message",
      dedupeKey,
      ...(channel ? { channel } : {}),
      payload: messagePayloadSchema.parse(payload),
    },
  ]);
}

export interface Target {
  channel: string;
  threadTs?: string;
}

/** Where a card-thread reply goes, posting the card first if it is not there yet. */
export type ThreadResolver = (row: OutboxRow, resumed: boolean) => Promise<Target | string>;

/** Queues a DM to a user, in order with the other DMs to that user. */
export async function queueDirectMessage(
  db: Queryable,
  message: { user: string; dedupeKey: string } & MessageInput,
): Promise<void> {
  const { user, ...rest } = message;
  await queueMessage(db, { ...rest, lane: `dm-${user}`, channel: user });
}

export function messageHandler(
  slack: WebClient,
  logger: Logger,
  resolveThread: ThreadResolver,
  subjects: SubjectBindings,
): OutboxHandler {
  return {
    async deliver(row, resumed) {
      const parsed = messagePayloadSchema.safeParse(row.payload);
      if (!parsed.success) return { ok: false, reason: `bad payload: ${parsed.error.message}` };
      const payload = parsed.data;
      const { subject, mode = "post" } = payload;
      /** A failure here leaves the row `sending`: the next attempt finds the post, records it. */
      const recorded = async (at: { channel: string; ts: string }) => {
        if (subject && mode === "post") await bindingOf(subjects, subject).record(subject, at);
        return { ok: true as const, ...at };
      };
      if (payload.editTs) {
        if (!row.channel) return { ok: false, reason: "edit without a channel" };
        const at = { channel: row.channel, ts: payload.editTs };
        return redraw(slack, at, payload);
      }
      let target: Target;
      if (mode !== "post") {
        if (!subject) return { ok: false, reason: `${mode} without a subject` };
        // The subject's post went first (same lane); if it never got there, nothing to do.
        const at = await bindingOf(subjects, subject).locate?.(subject);
        if (!at) return { ok: false, reason: `no ${subject.type} message to ${mode}` };
        if (mode === "edit") {
          return redraw(slack, at, payload);
        }
        target = { channel: at.channel, threadTs: at.ts };
      } else if (row.inCardThread) {
        const resolved = await resolveThread(row, resumed);
        if (typeof resolved === "string") return { ok: false, reason: resolved };
        target = resolved;
      } else if (row.channel) {
        target = { channel: row.channel, threadTs: payload.threadTs };
      } else {
        return { ok: false, reason: "message without a channel" };
      }
      const key = row.dedupeKey ?? `outbox-${row.id}`;
      if (resumed) {
        const found = await findEarlierPost(
          slack,
          logger,
          target,
          (m, type) => type === OUTBOX_METADATA_TYPE && m.dedupe_key === key,
          row.createdAt,
        );
        if (found) return recorded(found);
      }
      return recorded(
        await postFindable(slack, target, payload, {
          event_type: OUTBOX_METADATA_TYPE,
          event_payload: { dedupe_key: key },
        }),
      );
    },
  };
}

type Metadata = Record<string, unknown>;

/** Redraws a message where it stands (a card, a storm or rejection card): the outbox's delivery. */
export async function redraw(
  slack: WebClient,
  at: { channel: string; ts: string },
  message: { text: string; blocks?: unknown[] },
): Promise<Delivery> {
  await slack.chat.update({
    ...at,
    text: message.text,
    ...(message.blocks ? { blocks: message.blocks as never } : {}),
  });
  return { ok: true, delivered: "update", ...at };
}

/**
 * Posts a message (links not unfurled) that carries `metadata`, by which `findEarlierPost`
 * finds it again after a crash between the post and recording where it landed.
 */
export async function postFindable(
  slack: WebClient,
  target: Target,
  message: { text: string; blocks?: unknown[] },
  metadata: { event_type: string; event_payload: Metadata },
): Promise<{ channel: string; ts: string }> {
  const posted = await slack.chat.postMessage({
    channel: target.channel,
    ...(target.threadTs ? { thread_ts: target.threadTs } : {}),
    text: message.text,
    ...(message.blocks ? { blocks: message.blocks as never } : {}),
    unfurl_links: false,
    unfurl_media: false,
    metadata: metadata as never,
  });
  if (!posted.ts) throw new Error("chat.postMessage returned no ts");
  return { channel: posted.channel ?? target.channel, ts: posted.ts };
}

/**
 * `findByMetadata` for a resumed attempt. If Slack will not let us look (a missing
 * `*:history` scope, a channel we cannot read), waiting would block the lane for good, so
 * the row is posted (at least once) and the reason logged; other failures are retried.
 */
export async function findEarlierPost(
  slack: WebClient,
  logger: Logger,
  target: Target,
  match: (payload: Metadata, eventType: string) => boolean,
  since?: Date,
): Promise<{ channel: string; ts: string } | undefined> {
  try {
    return await findByMetadata(slack, target, match, since);
  } catch (error) {
    const failure = classifySlackError(error);
    if (failure.kind !== "config" && failure.kind !== "permanent") throw error;
    logger.error(
      { channel: target.channel, code: failure.code },
      "cannot look for an earlier post before posting again; a duplicate is possible",
    );
    return undefined;
  }
}

/** Our clock and Slack's may disagree by this much; a range read starts this much earlier. */
const CLOCK_SKEW_MS = 10 * 60_000;
const PAGE = 200;
/** Without a start, only the newest messages are read (a busy channel could be endless). */
const PAGES_WITHOUT_START = 5;
/** With a start, everything since is read, up to a bound that only a runaway channel meets. */
const PAGES_SINCE = 100;

/**
 * A message of ours whose metadata payload matches, in a thread or in a conversation (newest
 * first). `since`: the message cannot be older than this (the row that asked for it was made
 * then), so every message since is read, however busy the channel was meanwhile. A user id is
 * resolved to its DM channel first.
 */
export async function findByMetadata(
  slack: WebClient,
  target: Target,
  match: (payload: Metadata, eventType: string) => boolean,
  since?: Date,
): Promise<{ channel: string; ts: string } | undefined> {
  let channel = target.channel;
  if (/^[UW]/.test(channel)) {
    const opened = await slack.conversations.open({ users: channel });
    if (!opened.channel?.id) return undefined;
    channel = opened.channel.id;
  }
  const oldest = since ? ((since.getTime() - CLOCK_SKEW_MS) / 1000).toFixed(6) : undefined;
  const maxPages = since || target.threadTs ? PAGES_SINCE : PAGES_WITHOUT_START;
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const result = target.threadTs
      ? await slack.conversations.replies({
          channel,
          ts: target.threadTs,
          include_all_metadata: true,
          limit: PAGE,
          ...(cursor ? { cursor } : {}),
        })
      : await slack.conversations.history({
          channel,
          include_all_metadata: true,
          limit: PAGE,
          ...(oldest ? { oldest } : {}),
          ...(cursor ? { cursor } : {}),
        });
    for (const message of result.messages ?? []) {
      const metadata = (message as { metadata?: { event_type?: string; event_payload?: Metadata } })
        .metadata;
      if (metadata?.event_payload && message.ts) {
        if (match(metadata.event_payload, metadata.event_type ?? "")) {
          return { channel, ts: message.ts };
        }
      }
    }
    cursor = result.response_metadata?.next_cursor || undefined;
    if (!cursor) return undefined;
  }
  return undefined;
}
