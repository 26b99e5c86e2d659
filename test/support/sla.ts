/**
 * Helpers for the SLA integration tests: the SLA routing fixture, reading the ladder's audit
 * rows and timers, playing a person who claims or resolves, a clock that can jump, and a
 * worker process that can be killed for real.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Job } from "bullmq";
import { ACTIONS } from "../../src/exceptions/card.js";
import { RESOLVE_CALLBACK } from "../../src/exceptions/exceptions.slack.js";
import type { Clock } from "../../src/platform/clock.js";
import type { auditLog } from "../../src/platform/db/schema.js";
import { eventually, type Harness, SIGNING_SECRET } from "./harness.js";

export const SLA_ROUTING = fileURLToPath(new URL("../fixtures/routing.sla.yml", import.meta.url));

/**
 * How late a step may fire and still count as fired by its own timer rather than picked up by
 * the sweeper (every 30 s here). How late steps fire on a quiet machine is a figure for
 * `npm run bench:sla`; on a shared, loaded one a second is not a bound a test can hold.
 */
export const ON_TIME_MS = 5_000;
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export type AuditRow = typeof auditLog.$inferSelect;

export interface StepRow {
  action: string;
  step: string;
  deadline: number;
  firedAt: number;
  lateMs: number;
  recipients: string[];
  /** Why no message went out (a late nudge superseded by the next one), or null. */
  note: string | null;
  at: Date;
}

/** The SLA audit rows of an exception, oldest first, with their details decoded. */
export async function slaSteps(h: Harness, exceptionId: number): Promise<StepRow[]> {
  const rows = await h.audit(exceptionId);
  return rows
    .filter((row) => row.source === "sla")
    .map((row) => {
      const details = row.details as Record<string, unknown>;
      return {
        action: row.action,
        step: String(details.step),
        deadline: Date.parse(String(details.deadline)),
        firedAt: Date.parse(String(details.firedAt)),
        lateMs: Number(details.lateMs),
        recipients: details.recipients as string[],
        note: row.note,
        at: row.at,
      };
    });
}

/** SLA timer jobs of an exception that are still to run (delayed, waiting or active). */
export async function liveTimers(h: Harness, exceptionId: number): Promise<Job[]> {
  const jobs = await h.bot.deps.queues.internal.getJobs([
    "delayed",
    "waiting",
    "active",
    "prioritized",
  ]);
  return jobs.filter((job) => job?.name === "sla.step" && job.data.exceptionId === exceptionId);
}

/** An exception's row once its card is posted. */
export async function openedCard(h: Harness, sku: string) {
  return eventually(
    async () => {
      const [row] = await h.exceptionsFor(sku);
      return row?.cardTs ? row : null;
    },
    10_000,
    `card for ${sku}`,
  );
}

/**
 * The card's blocks (as JSON text) once they match: card updates are coalesced, so the latest
 * state can trail the change by the update window.
 */
export function cardShowing(
  h: Harness,
  row: { channel: string; cardTs: string | null },
  pattern: RegExp,
): Promise<string> {
  return eventually(
    async () => {
      const card = h.fake.messages(row.channel).find((message) => message.ts === row.cardTs);
      const blocks = JSON.stringify(card?.blocks ?? []);
      return pattern.test(blocks) ? blocks : null;
    },
    5000,
    `the card to show ${pattern}`,
  );
}

/** Replies in the card's thread, as people in the channel see them. */
export function threadOf(h: Harness, row: { channel: string; cardTs: string | null }) {
  return h.fake.threadReplies(row.channel, row.cardTs ?? "");
}

/** The DMs the bot sent a user (the fake names a user's DM `D<user>`). */
export function dmsTo(h: Harness, userId: string) {
  return h.fake.messages(`D${userId}`);
}

export const text = (message: Record<string, unknown>) => String(message.text ?? "");

/** A person clicks a card button in the card's channel. */
export function clickCard(
  h: Harness,
  userId: string,
  row: { id: number; channel: string; cardTs: string | null },
  actionId: string,
) {
  return h.slack.blockAction({
    userId,
    channelId: row.channel,
    messageTs: row.cardTs ?? "",
    actionId,
    value: String(row.id),
  });
}

/** A person resolves through the modal, as the card's Resolve… button leads them to. */
export async function resolveByModal(
  h: Harness,
  userId: string,
  row: { id: number; channel: string },
) {
  const res = await h.slack.viewSubmission({
    userId,
    callbackId: RESOLVE_CALLBACK,
    privateMetadata: JSON.stringify({ exceptionId: row.id, channel: row.channel }),
    values: {
      note: { value: { type: "plain_text_input", value: "Re-sent the stock feed by hand" } },
      root_cause: {
        value: { type: "static_select", selected_option: { value: "target_outage" } },
      },
    },
  });
  await eventually(async () => (await h.exception(row.id)).state === "resolved");
  return res;
}

export async function claim(h: Harness, userId: string, row: Parameters<typeof clickCard>[2]) {
  await clickCard(h, userId, row, ACTIONS.claim);
  await eventually(async () => (await h.exception(row.id)).claimedBy === userId);
}

/** A clock that runs with real time from a chosen instant, and can be moved. */
export function movableClock(startAt: number): Clock & { jumpTo(at: number): void } {
  let offset = startAt - Date.now();
  return {
    now: () => new Date(Date.now() + offset),
    jumpTo: (at) => {
      offset = at - Date.now();
    },
  };
}

/** A failure event's id unique to this run, for repeats of one fingerprint. */
export const eventId = () => `evt-${randomBytes(8).toString("hex")}`;

/**
 * `tsx src/main.ts worker` as its own process on the harness's database, queues and fake
 * Slack: a real worker replica that a test can kill with SIGKILL.
 */
export function spawnWorker(
  h: Harness,
  routingFile: string,
  /**
   * `env`: settings on top of the harness's; an undefined one is left unset. `ownSession`: the
   * child leads a session of its own, as a daemon or a process manager's child may.
   */
  options: {
    roles?: string[];
    env?: Record<string, string | undefined>;
    ownSession?: boolean;
  } = {},
): ChildProcess {
  const roles = options.roles ?? ["worker"];
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", ...roles], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: "xoxb-test-token",
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: h.fake.url,
      DATABASE_URL: h.databaseUrl,
      REDIS_URL: h.env.REDIS_URL,
      QUEUE_PREFIX: h.env.QUEUE_PREFIX,
      ROUTING_FILE: routingFile,
      SLA_SWEEP_MS: String(h.env.SLA_SWEEP_MS),
      // A worker these tests kill may die holding a job lock or a card lane's outbox lease;
      // another takes them over within about this long (30 s by default).
      QUEUE_LOCK_MS: "3000",
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
      // Timers are held to 5 s here: not behind other test files at a lower CPU priority.
      WORKER_NICENESS: "0",
      ...options.env,
    },
    // The IPC channel carries the "syncdesk.ready" message main.ts sends once it serves.
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    detached: options.ownSession ?? false,
  });
  return child;
}

/** Kills a child for real (no drain) and waits until it is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await gone;
}
