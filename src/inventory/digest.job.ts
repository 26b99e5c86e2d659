/**
 * The weekly digest: a BullMQ job scheduler (one id, so one schedule however many workers
 * upsert it) fires `digest.send`; the job posts each role's digest to its channel and DMs its
 * managers through the Slack outbox. A delivery row, inserted in the transaction that queues
 * the message, makes a redelivered or concurrently running job skip what is already queued.
 */
import type { Job } from "bullmq";
import { and, eq } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import type { Db } from "../platform/db/db.js";
import { digestDeliveries } from "../platform/db/schema.js";
import { SCHEDULED } from "../platform/queue/catalog.js";
import type { Queues } from "../platform/queue/queues.js";
import { queueMessage } from "../platform/slack/outbox-message.js";
import type { SubjectBinding, SubjectOf } from "../platform/slack/outbox-subjects.js";
import { DAY_MS } from "./command-args.js";
import { renderDigest } from "./digest.view.js";
import { checklistLines, roleFreshness, weekFigures } from "./inventory.service.js";
import { linkerFor } from "./links.js";
import type { Message } from "./status.view.js";

export const DIGEST_SCHEDULER_ID = "inventory-digest";
/** `DIGEST_CRON=off` turns the digest off (and removes a schedule left from before). */
export const DIGEST_OFF = "off";

export async function scheduleDigest(
  queues: Pick<Queues, "internal">,
  settings: { cron: string; tz: string },
): Promise<void> {
  if (settings.cron === DIGEST_OFF) {
    await queues.internal.removeJobScheduler(DIGEST_SCHEDULER_ID);
    return;
  }
  await queues.internal.upsertJobScheduler(
    DIGEST_SCHEDULER_ID,
    { pattern: settings.cron, tz: settings.tz },
    {
      name: "digest.send",
      data: {},
      opts: {
        ...SCHEDULED,
        attempts: 5,
        backoff: { type: "exponential", delay: 30_000 },
        removeOnComplete: { age: 30 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    },
  );
}

/** The cron tick a scheduler job belongs to: its id ends with the scheduled epoch ms. */
export function digestKey(job: Pick<Job, "id" | "timestamp">): string {
  const scheduled = /[:-](\d{12,})$/.exec(job.id ?? "");
  return new Date(scheduled ? Number(scheduled[1]) : job.timestamp).toISOString();
}

export interface DigestOutcome {
  key: string;
  sent: number;
  skipped: number;
}

export async function sendDigest(deps: Deps, key: string): Promise<DigestOutcome> {
  const now = deps.clock.now();
  const { config } = deps.routing.current();
  const [lines, link] = await Promise.all([checklistLines(deps), linkerFor(deps)]);
  const outcome: DigestOutcome = { key, sent: 0, skipped: 0 };
  for (const role of Object.values(config.roles)) {
    const [figures, freshness] = await Promise.all([
      weekFigures(deps, [role.name]),
      roleFreshness(deps, [role.name], 7 * DAY_MS),
    ]);
    const message = renderDigest(role.name, figures, lines, now, link, freshness);
    for (const target of [role.channel, ...role.managers]) {
      const sent = await deliverOnce(deps, { digestKey: key, role: role.name, target }, message);
      if (sent) outcome.sent++;
      else outcome.skipped++;
    }
  }
  deps.logger.info(outcome, "weekly digest delivered");
  return outcome;
}

/**
 * Queues one message per (digest, role, target): the delivery row and the outbox row are
 * written in one transaction, so a redelivered or concurrent run of the same tick finds the
 * delivery and queues nothing, and a Slack outage delays the message instead of losing it.
 * The relay records the message's ts on the delivery row when it goes out.
 */
async function deliverOnce(
  deps: Deps,
  ref: { digestKey: string; role: string; target: string },
  message: Message,
): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    const claimed = await tx
      .insert(digestDeliveries)
      .values({ ...ref, sentAt: deps.clock.now() })
      .onConflictDoNothing()
      .returning({ target: digestDeliveries.target });
    if (claimed.length === 0) return false;
    // A user id as channel posts to the app's DM with that person.
    await queueMessage(tx, {
      subject: { type: "digest_delivery", ...ref },
      channel: ref.target,
      dedupeKey: `digest-${ref.digestKey}-${ref.role}-${ref.target}`,
      text: message.text,
      blocks: message.blocks,
    });
    return true;
  });
}

/** Where a digest message went, for the outbox relay. */
export function digestDeliveryBinding(db: Db): SubjectBinding<SubjectOf<"digest_delivery">> {
  return {
    async record(subject, at) {
      await db
        .update(digestDeliveries)
        .set({ ts: at.ts })
        .where(
          and(
            eq(digestDeliveries.digestKey, subject.digestKey),
            eq(digestDeliveries.role, subject.role),
            eq(digestDeliveries.target, subject.target),
          ),
        );
    },
  };
}
