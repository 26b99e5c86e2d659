/**
 * Retention, as an operator sees it: the scheduled job prunes failure payloads of exceptions
 * resolved long ago, empties old rejected payloads and deletes audit rows past their own (longer)
 * retention, leaves everything else alone, and shows its figures in /metrics.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { loadEnv } from "../../src/env.js";
import { retentionFromEnv } from "../../src/retention/retention.schedule.js";
import { enqueueRetentionJob } from "../../src/retention/retention-jobs.schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({
  env: {
    RETENTION_FAILURE_PAYLOADS: "7d",
    RETENTION_REJECTED_EVENTS: "7d",
    RETENTION_AUDIT: "30d",
  },
});

const count = async (query: ReturnType<typeof sql>) => {
  const rows = (await h.bot.deps.db.execute(query)) as unknown as { n: number }[];
  return rows[0]?.n ?? -1;
};

describe("the retention job", () => {
  it("prunes what is past its retention, keeps the rest, and reports it in /metrics", async () => {
    const db = h.bot.deps.db;
    for (const sku of ["OLD-RESOLVED", "NEW-RESOLVED", "OLD-OPEN"]) {
      for (let i = 0; i < 3; i++) await h.report(failureEvent({ sku, client: "acme" }));
    }
    await h.reportRaw({ not: "an event" }, "bad-old");
    // From another producer: a group (and card sample) of its own.
    await h.reportRaw({ still: "not an event", sourceSystem: "other-src" }, "bad-new");
    await eventually(async () => {
      const events = await count(sql`select count(*)::int as n from failure_events`);
      const rejected = await count(sql`select count(*)::int as n from rejected_events`);
      return events === 9 && rejected === 2;
    }, 15_000);
    await db.execute(sql`
      update exceptions set state = 'resolved', resolved_at = now() - interval '10 days'
      where sku = 'OLD-RESOLVED'`);
    await db.execute(sql`
      update exceptions set state = 'resolved', resolved_at = now() - interval '1 day'
      where sku = 'NEW-RESOLVED'`);
    // Old failures of a live exception: its payloads stay however old they are.
    await db.execute(sql`
      update failure_events set received_at = now() - interval '100 days'
      where exception_id in (select id from exceptions where sku = 'OLD-OPEN')`);
    await db.execute(sql`
      update rejected_events set received_at = now() - interval '10 days'
      where source_job_id = 'bad-old'`);
    // Its group's card last showed it 10 days ago: the sample it keeps goes too.
    await eventually(async () => {
      const grouped = await count(sql`
        select count(*)::int as n from rejected_events where group_id is not null`);
      return grouped === 2;
    });
    await db.execute(sql`
      update rejection_groups set first_seen_at = now() - interval '10 days',
        last_seen_at = now() - interval '10 days'
      where id = (select group_id from rejected_events where source_job_id = 'bad-old')`);
    const audit = await count(sql`select count(*)::int as n from audit_log`);
    await db.execute(sql`
      update audit_log set at = now() - interval '40 days'
      where exception_id in (select id from exceptions where sku = 'OLD-RESOLVED')`);
    const oldAudit = await count(sql`
      select count(*)::int as n from audit_log
      where exception_id in (select id from exceptions where sku = 'OLD-RESOLVED')`);
    expect(oldAudit).toBeGreaterThan(0);

    await enqueueRetentionJob(h.bot.deps.queues, "retention.prune", {});
    // Done when every rule has had its turn (their order within a run is not the point here).
    await eventually(async () => {
      const oldRows = await count(sql`
        select count(*)::int as n from audit_log where at < now() - interval '30 days'`);
      const oldPayloads = await count(sql`
        select count(*)::int as n from rejected_events where source_job_id = 'bad-old' and raw_text <> ''`);
      const resolvedEvents = await count(sql`
        select count(*)::int as n from failure_events fe join exceptions e on e.id = fe.exception_id
        where e.sku = 'OLD-RESOLVED'`);
      const oldSamples = await count(sql`
        select count(*)::int as n from rejection_groups where last_seen_at < now() - interval '9 days' and sample <> ''`);
      return oldRows === 0 && oldPayloads === 0 && resolvedEvents === 0 && oldSamples === 0;
    }, 15_000);
    expect(
      await count(sql`select count(*)::int as n from rejection_groups where sample <> ''`),
    ).toBe(1);
    // Newer audit rows (those of the other exceptions) all stay.
    expect(await count(sql`select count(*)::int as n from audit_log`)).toBeGreaterThanOrEqual(
      audit - oldAudit,
    );
    const left = await db.execute(sql`
      select e.sku, count(fe.event_id)::int as events from exceptions e
      left join failure_events fe on fe.exception_id = e.id group by e.sku order by e.sku`);
    expect(left).toEqual([
      { sku: "NEW-RESOLVED", events: 3 },
      { sku: "OLD-OPEN", events: 3 },
      { sku: "OLD-RESOLVED", events: 0 },
    ]);
    // The exception itself (what failed, who resolved it) stays.
    expect(await count(sql`select count(*)::int as n from exceptions`)).toBe(3);
    const rejected = await db.execute(sql`
      select source_job_id, raw_text = '' as emptied from rejected_events order by source_job_id`);
    expect(rejected).toEqual([
      { source_job_id: "bad-new", emptied: false },
      { source_job_id: "bad-old", emptied: true },
    ]);

    const scraped = await (await fetch(`http://127.0.0.1:${h.bot.port}/metrics`)).text();
    expect(scraped).toMatch(
      /^syncdesk_retention_pruned_rows_total\{table="failure_events"\} [1-9]/m,
    );
    expect(scraped).toMatch(/^syncdesk_retention_pruned_rows_total\{table="audit_log"\} [1-9]/m);
    expect(scraped).toMatch(/^syncdesk_retention_last_run_timestamp_seconds [1-9]/m);
    expect(scraped).toMatch(/^syncdesk_retention_longest_batch_seconds\{table="audit_log"\}/m);
  });

  it("refuses an audit retention shorter than the payloads' it explains", () => {
    const env = loadEnv({
      SLACK_BOT_TOKEN: "xoxb-test-token",
      SLACK_SIGNING_SECRET: "test-signing-secret",
      RETENTION_FAILURE_PAYLOADS: "90d",
      RETENTION_AUDIT: "30d",
    });
    expect(() => retentionFromEnv(env)).toThrow(/RETENTION_AUDIT must be at least as long/);
  });
});
