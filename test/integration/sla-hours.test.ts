/**
 * Support hours pause the SLA clock and the sweeper keeps timers honest. The calendar runs on a
 * movable clock (a Monday evening in Berlin, then the next morning); the queue runs on real
 * time, as it does in production. The sweeper runs every 300 ms here.
 */
import { describe, expect, it } from "vitest";
import { SWEEP_GRACE_MS } from "../../src/sla/sla-timers.js";
import { eventually, failureEvent } from "../support/harness.js";
import {
  liveTimers,
  movableClock,
  openedCard,
  resolveByModal,
  SLA_ROUTING,
  slaSteps,
} from "../support/sla.js";
import { useHarness } from "../support/use-harness.js";

const SWEEP_MS = 300;
// Monday 2026-06-15, 17:59:54 in Berlin (CEST, UTC+2): six seconds before support closes.
const MONDAY_EVENING = Date.parse("2026-06-15T15:59:54Z");
const MONDAY_CLOSE = Date.parse("2026-06-15T16:00:00Z");
const TUESDAY_OPEN = Date.parse("2026-06-16T06:00:00Z");

const clock = movableClock(MONDAY_EVENING);
const h = useHarness({
  routingFile: SLA_ROUTING,
  start: { clock },
  env: { SLA_SWEEP_MS: String(SWEEP_MS) },
});

describe("support hours", () => {
  it("pause the clock at closing and resume it at the next opening; `hours: always` does not pause", async () => {
    clock.jumpTo(MONDAY_EVENING);
    await h.report(failureEvent({ client: "office", sku: "SKU-OFFICE" }));
    await h.report(failureEvent({ client: "urgent", sku: "SKU-URGENT" }));
    const office = await openedCard(h, "SKU-OFFICE");
    const urgent = await openedCard(h, "SKU-URGENT");
    const opened = office.openedAt.getTime();
    expect(opened).toBeLessThan(MONDAY_CLOSE - 4000);

    // Claim window 8s, nudges at 4s and 8s of support time. The first falls before closing.
    const [first] = await eventually(
      async () => {
        const steps = await slaSteps(h, office.id);
        return steps.length ? steps : null;
      },
      8000,
      "the first nudge",
    );
    expect(first?.deadline).toBe(opened + 4000);
    expect(first?.lateMs).toBeLessThan(1000);

    // The second needs 8s of support time: what was left on Monday, the rest on Tuesday.
    const leftMonday = MONDAY_CLOSE - opened;
    const tuesdayDeadline = TUESDAY_OPEN + (8000 - leftMonday);
    expect((await h.exception(office.id)).nextDeadlineAt?.getTime()).toBe(tuesdayDeadline);
    const card = h.fake.messages("C0BERLIN").find((message) => message.ts === office.cardTs);
    const cardText = JSON.stringify(card?.blocks);
    expect(cardText).toContain(`claim by <!date^${Math.floor(tuesdayDeadline / 1000)}^`);
    expect(cardText).toContain("clock runs Mon-Fri 08:00-18:00 (Europe/Berlin)");

    // The critical twin opts out with `hours: always`: its second nudge comes 8s after opening,
    // after closing time, while the office exception's clock stands still.
    await eventually(
      async () => (await slaSteps(h, urgent.id)).length === 2,
      10_000,
      "the critical exception's second nudge",
    );
    const urgentSecond = (await slaSteps(h, urgent.id))[1];
    expect(urgentSecond?.deadline).toBe(urgent.openedAt.getTime() + 8000);
    expect(urgentSecond?.deadline).toBeGreaterThan(MONDAY_CLOSE);
    expect((await slaSteps(h, office.id)).map((step) => step.step)).toEqual(["claim_nudge-0"]);

    // Tuesday morning, support is open again: the clock runs on from where it stopped.
    clock.jumpTo(tuesdayDeadline - 500);
    const second = await eventually(
      async () => (await slaSteps(h, office.id))[1],
      10_000,
      "the second nudge on Tuesday",
    );
    expect(second.step).toBe("claim_nudge-1");
    expect(second.deadline).toBe(tuesdayDeadline);
    expect(second.firedAt).toBeGreaterThanOrEqual(tuesdayDeadline);
    // The wake-up was set on Monday's real time; the sweeper pulls it in once it is overdue.
    expect(second.lateMs).toBeLessThan(SWEEP_GRACE_MS + SWEEP_MS + 1000);
    await resolveByModal(h, "U0HANS", office);
    await resolveByModal(h, "U0HANS", urgent);
  });

  it("re-arms a timer whose Redis job was deleted", async () => {
    await h.report(failureEvent({ client: "donewhen", sku: "SKU-LOST-TIMER" }));
    const row = await openedCard(h, "SKU-LOST-TIMER");
    const [timer] = await eventually(async () => {
      const jobs = await liveTimers(h, row.id);
      return jobs.length === 1 ? jobs : null;
    });
    expect(timer?.data.kind).toBe("claim_nudge");
    // A lost Redis key: the wake-up is gone, only Postgres still knows the deadline.
    expect(await h.bot.deps.queues.internal.remove(timer?.id ?? "")).toBe(1);
    expect(await liveTimers(h, row.id)).toEqual([]);

    const steps = await eventually(
      async () => {
        const fired = await slaSteps(h, row.id);
        return fired.length === 2 ? fired : null;
      },
      10_000,
      "both nudges",
    );
    const [lost, onTime] = steps;
    expect(lost?.step).toBe("claim_nudge-0");
    // Fired by the sweeper: after the grace it allows a live timer, within one sweep of it.
    expect(lost?.lateMs).toBeGreaterThanOrEqual(SWEEP_GRACE_MS);
    expect(lost?.lateMs).toBeLessThan(SWEEP_GRACE_MS + SWEEP_MS + 1000);
    // The ladder goes on from there with ordinary timers.
    expect(onTime?.step).toBe("claim_nudge-1");
    expect(onTime?.lateMs).toBeLessThan(1000);
    await resolveByModal(h, "U0ALICE", row);
  });
});
