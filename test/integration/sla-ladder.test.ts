/**
 * The SLA ladder against real Redis and Postgres, with two worker processes taking jobs from
 * the same queues: the harness's bot and a second `src/main.ts worker` process. Every step
 * must fire at its deadline (within a second) and exactly once, and state changes must cancel
 * what no longer applies.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, failureEvent } from "../support/harness.js";
import {
  cardShowing,
  claim,
  dmsTo,
  killHard,
  liveTimers,
  ON_TIME_MS,
  openedCard,
  resolveByModal,
  SLA_ROUTING,
  slaSteps,
  spawnWorker,
  text,
  threadOf,
} from "../support/sla.js";
import { useHarness } from "../support/use-harness.js";

let replica: ChildProcess;

const h = useHarness({ routingFile: SLA_ROUTING });
beforeAll(async () => {
  replica = spawnWorker(h, SLA_ROUTING);
  // Both processes are connected to the internal queue before anything is reported.
  await eventually(
    async () => {
      if (replica.exitCode !== null) throw new Error(`worker process exited ${replica.exitCode}`);
      return (await h.bot.deps.queues.internal.getWorkers()).length >= 2;
    },
    20_000,
    "the second worker process",
  );
});
afterAll(async () => {
  if (replica) await killHard(replica);
});

const mentionsId = (id: number) => new RegExp(`EX-${id}\\b`);

describe("SLA ladder with two worker processes", () => {
  it("nudges, breaches and escalates each at its deadline, exactly once", async () => {
    await h.report(failureEvent({ client: "quick", sku: "SKU-LADDER" }));
    const row = await openedCard(h, "SKU-LADDER");
    const opened = row.openedAt.getTime();

    // quick: nudges at 1s and 2s, breach at 4s, one repeat 2s after the breach.
    await eventually(async () => (await slaSteps(h, row.id)).length === 4, 12_000, "4 steps");
    await eventually(async () => threadOf(h, row).length === 4, 5000, "4 thread replies");
    await eventually(
      async () => dmsTo(h, "U0MGR").length === 2 && dmsTo(h, "U0MGR2").length === 2,
      5000,
      "2 DMs to each manager",
    );
    const steps = await slaSteps(h, row.id);
    const breachedAt = (await h.exception(row.id)).breachedAt?.getTime() ?? 0;
    expect(steps.map((step) => step.step)).toEqual([
      "claim_nudge-0",
      "claim_nudge-1",
      "breach-0",
      "escalation-1",
    ]);
    expect(steps.map((step) => step.deadline)).toEqual([
      opened + 1000,
      opened + 2000,
      opened + 4000,
      breachedAt + 2000,
    ]);
    for (const step of steps) {
      expect(step.firedAt).toBeGreaterThanOrEqual(step.deadline);
      expect(step.lateMs, step.step).toBeLessThan(ON_TIME_MS);
    }

    // What people see, and when Slack heard of it.
    const replies = threadOf(h, row).map(text);
    expect(replies[0]).toMatch(
      /^:alarm_clock: <!subteam\^S0FULFILL> EX-\d+ is still unclaimed: 50%/,
    );
    expect(replies[1]).toMatch(/claim window is over/);
    expect(replies[2]).toMatch(/SLA breached.*Paged 2 managers/);
    expect(replies[3]).toMatch(/will not page the managers .* again/);
    const threadPosts = h.fake
      .callsTo("chat.postMessage")
      .filter((call) => call.body.thread_ts === row.cardTs);
    const deadlines = steps.map((step) => step.deadline);
    threadPosts.forEach((call, i) => {
      expect(call.at.getTime() - (deadlines[i] ?? 0)).toBeLessThan(1000);
    });
    for (const manager of ["U0MGR", "U0MGR2"]) {
      const [breach, repeat] = dmsTo(h, manager).map(text);
      expect(breach).toMatch(/^SLA breached: EX-\d+ · quick · SKU-LADDER · overdue by/);
      expect(repeat).toMatch(/^Still unresolved: reminder 1 of 1/);
    }

    // The card says it is breached and that escalation has stopped (card updates are
    // coalesced, so the last one may trail by a moment); no timer is left.
    const cardText = await cardShowing(h, row, /escalation stopped/);
    expect(cardText).toContain("*SLA breached*");
    expect(await liveTimers(h, row.id)).toEqual([]);
    expect((await h.exception(row.id)).nextDeadlineAt).toBeNull();
    // Exactly once: no duplicate row or message arrived while we looked.
    expect(await slaSteps(h, row.id)).toHaveLength(4);
    expect(threadOf(h, row)).toHaveLength(4);
  });

  it("claiming cancels the unclaimed nudges and arms the claimer's reminder", async () => {
    await h.report(failureEvent({ client: "donewhen", sku: "SKU-CLAIMED" }));
    await h.report(failureEvent({ client: "donewhen", sku: "SKU-UNCLAIMED" }));
    const claimed = await openedCard(h, "SKU-CLAIMED");
    const unclaimed = await openedCard(h, "SKU-UNCLAIMED");
    await claim(h, "U0ALICE", claimed);

    const timers = await eventually(async () => {
      const jobs = await liveTimers(h, claimed.id);
      return jobs.length === 1 && jobs[0]?.data.kind === "claimer_reminder" ? jobs : null;
    });
    // 75% of the 15s resolve window, counted from opening.
    expect(timers[0]?.data.dueAt).toBe(claimed.openedAt.getTime() + 11_250);

    // Both nudges of the unclaimed twin fire; the claimed one has none.
    await eventually(
      async () => (await slaSteps(h, unclaimed.id)).length === 2,
      8000,
      "the twin's nudges",
    );
    expect(await slaSteps(h, claimed.id)).toEqual([]);
    expect(threadOf(h, claimed).map(text)).toEqual([expect.stringMatching(/claimed this/)]);

    await resolveByModal(h, "U0ALICE", claimed);
    await resolveByModal(h, "U0BOB", unclaimed);
  });

  it("resolving cancels everything; a reopen starts a new clock", async () => {
    const first = failureEvent({ client: "quick", sku: "SKU-RESOLVED" });
    await h.report(first);
    await h.report(failureEvent({ client: "quick", sku: "SKU-TWIN" }));
    const resolved = await openedCard(h, "SKU-RESOLVED");
    const twin = await openedCard(h, "SKU-TWIN");
    await eventually(async () => (await slaSteps(h, resolved.id)).length >= 1, 3000, "nudge 0");
    await resolveByModal(h, "U0ALICE", resolved);
    expect(await liveTimers(h, resolved.id)).toEqual([]);
    expect((await h.exception(resolved.id)).nextDeadlineAt).toBeNull();
    const firedBefore = (await slaSteps(h, resolved.id)).map((step) => step.step);

    // The twin runs its whole ladder meanwhile; the resolved one stays silent.
    await eventually(
      async () => (await slaSteps(h, twin.id)).some((step) => step.step === "escalation-1"),
      10_000,
      "the twin's last escalation",
    );
    expect((await slaSteps(h, resolved.id)).map((step) => step.step)).toEqual(firedBefore);
    expect(firedBefore.every((step) => step.startsWith("claim_nudge"))).toBe(true);
    const aboutResolved = dmsTo(h, "U0MGR").filter((dm) => mentionsId(resolved.id).test(text(dm)));
    expect(aboutResolved).toEqual([]);

    // The same failure again: a new episode whose ladder counts from its own opening.
    await h.report({ ...first, eventId: `${first.eventId}-again` });
    const reopened = await eventually(async () => {
      const rows = await h.exceptionsFor("SKU-RESOLVED");
      return rows[1]?.cardTs ? rows[1] : null;
    });
    expect(reopened.reopenOf).toBe(resolved.id);
    const [nudge] = await eventually(
      async () => {
        const steps = await slaSteps(h, reopened.id);
        return steps.length ? steps : null;
      },
      3000,
      "the reopened exception's first nudge",
    );
    expect(nudge?.step).toBe("claim_nudge-0");
    expect(nudge?.deadline).toBe(reopened.openedAt.getTime() + 1000);
    expect(nudge?.lateMs).toBeLessThan(ON_TIME_MS);
    await resolveByModal(h, "U0ALICE", reopened);
    await resolveByModal(h, "U0ALICE", twin);
  });
});
