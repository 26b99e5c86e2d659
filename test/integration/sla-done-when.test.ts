/**
 * Issue 3's "done when": a running bot with `claim: 5s, resolve: 15s` (repeat 3s, at most 3
 * repeats), given an event and no clicks, posts the two nudges, then breach DMs to each
 * manager, repeating as configured, and stops cleanly once someone resolves; all of it in the
 * audit rows. A twin exception, reported at the same moment and never resolved, shows the
 * clock kept running past the repeat the resolved one no longer gets.
 */
import { expect, it } from "vitest";
import { eventually, failureEvent } from "../support/harness.js";
import {
  cardShowing,
  dmsTo,
  liveTimers,
  ON_TIME_MS,
  openedCard,
  resolveByModal,
  SLA_ROUTING,
  slaSteps,
  text,
  threadOf,
} from "../support/sla.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({ routingFile: SLA_ROUTING });

const about = (id: number) => (message: Record<string, unknown>) =>
  new RegExp(`EX-${id}\\b`).test(text(message));

it("nudges twice, pages every manager, repeats, and stops once resolved", {
  timeout: 60_000,
}, async () => {
  await h.report(failureEvent({ client: "donewhen", sku: "SKU-DONE" }));
  await h.report(failureEvent({ client: "donewhen", sku: "SKU-DONE-TWIN" }));
  const row = await openedCard(h, "SKU-DONE");
  const twin = await openedCard(h, "SKU-DONE-TWIN");

  // Nobody clicks. Two nudges (2.5s, 5s), the breach (15s), repeats at 18s and 21s.
  await eventually(
    async () => (await slaSteps(h, row.id)).filter((s) => s.step === "escalation-2").length,
    30_000,
    "the second repeat",
  );
  await eventually(
    async () =>
      dmsTo(h, "U0MGR").filter(about(row.id)).length === 3 &&
      dmsTo(h, "U0MGR2").filter(about(row.id)).length === 3,
    5000,
    "three DMs to each manager",
  );
  await resolveByModal(h, "U0BOB", row);
  expect(await liveTimers(h, row.id)).toEqual([]);

  // The twin's third repeat (24s) comes; the resolved exception's never does.
  await eventually(
    async () => (await slaSteps(h, twin.id)).some((s) => s.step === "escalation-3"),
    10_000,
    "the twin's third repeat",
  );
  const audit = (await h.audit(row.id)).map((entry) => entry.action);
  expect(audit).toEqual([
    "opened",
    "card_posted",
    "sla_nudge",
    "sla_nudge",
    "sla_breached",
    "sla_escalated",
    "sla_escalated",
    "resolve",
  ]);
  const steps = await slaSteps(h, row.id);
  const opened = row.openedAt.getTime();
  expect(steps.slice(0, 3).map((s) => s.deadline - opened)).toEqual([2500, 5000, 15_000]);
  for (const step of steps) expect(step.lateMs, step.step).toBeLessThan(ON_TIME_MS);
  expect(steps[2]?.recipients).toEqual(["thread", "U0MGR", "U0MGR2"]);

  const nudges = threadOf(h, row)
    .map(text)
    .filter((reply) => reply.includes(":alarm_clock:"));
  expect(nudges).toHaveLength(2);
  expect(nudges.every((nudge) => nudge.includes("<!subteam^S0FULFILL>"))).toBe(true);
  for (const manager of ["U0MGR", "U0MGR2"]) {
    const dms = dmsTo(h, manager).filter(about(row.id)).map(text);
    expect(dms).toEqual([
      expect.stringMatching(/^SLA breached: EX-\d+ · donewhen · SKU-DONE · overdue by/),
      expect.stringMatching(/^Still unresolved: reminder 1 of 3/),
      expect.stringMatching(/^Still unresolved: reminder 2 of 3/),
    ]);
  }
  await cardShowing(h, row, /SLA breached · resolved \d+s after the deadline/);
  await resolveByModal(h, "U0BOB", twin);

  // What a manager's dashboard scrapes: two nudges and one breach for each of the two.
  const scraped = await (await fetch(`http://127.0.0.1:${h.bot.port}/metrics`)).text();
  expect(scraped).toContain(
    'syncdesk_sla_nudges_total{role="fulfillment-ops",kind="claim_nudge"} 4',
  );
  expect(scraped).toContain('syncdesk_sla_breaches_total{role="fulfillment-ops"} 2');
});
