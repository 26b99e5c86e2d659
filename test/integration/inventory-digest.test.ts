/**
 * The weekly digest: one job scheduler however many workers run, one message per role channel
 * and manager per tick, and a repeated run of the same tick sends nothing twice.
 */
import { asc } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { DIGEST_SCHEDULER_ID, sendDigest } from "../../src/inventory/digest.job.js";
import { digestDeliveries } from "../../src/platform/db/schema.js";
import type { Syncdesk } from "../../src/syncdesk.js";
import { eventually } from "../support/harness.js";
import { INVENTORY_ROUTING, insertException } from "../support/inventory-history.js";
import { useHarness } from "../support/use-harness.js";

let second: Syncdesk;
const TARGETS = ["C0FULFILL", "U0MGR", "C0ADS", "U0MGR2"];

// A digest every 2 seconds (cron with seconds), two worker processes.
const h = useHarness({
  routingFile: INVENTORY_ROUTING,
  env: { DIGEST_CRON: "*/2 * * * * *", DIGEST_TZ: "Europe/Berlin" },
});
beforeAll(async () => {
  second = await h.startAnother(["worker"]);
  await insertException(h.bot.deps.db, {
    openedAt: new Date(Date.now() - 3_600_000),
    claimAfter: 2,
    resolveAfter: 10,
  });
});

const digestMessages = (channel: string) =>
  h.fake.messages(channel).filter((m) => String(m.text).startsWith("Weekly digest for"));

describe("weekly digest", () => {
  it("has one scheduler with two workers, and each tick goes out once per channel and manager", async () => {
    const schedulers = (await h.bot.deps.queues.internal.getJobSchedulers()).filter(
      (s) => s.key === DIGEST_SCHEDULER_ID || s.name === "digest.send",
    );
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ pattern: "*/2 * * * * *", tz: "Europe/Berlin" });

    // Two ticks delivered, then stop the schedule and let what is running finish.
    await eventually(
      async () => {
        const rows = await h.bot.deps.db.select().from(digestDeliveries);
        return new Set(rows.map((r) => r.digestKey)).size >= 2;
      },
      15_000,
      "two digest ticks",
    );
    await h.bot.deps.queues.internal.removeJobScheduler(DIGEST_SCHEDULER_ID);
    // No tick left to run or running: the delivery rows are final, then wait for the posts.
    await eventually(async () => {
      const jobs = await h.bot.deps.queues.internal.getJobs(["active", "waiting", "delayed"]);
      return !jobs.some((job) => job?.name === "digest.send");
    });
    const rows = await h.bot.deps.db
      .select()
      .from(digestDeliveries)
      .orderBy(asc(digestDeliveries.digestKey));
    await eventually(async () => {
      const posted = digestMessages("C0FULFILL").length + digestMessages("C0ADS").length;
      const postedDms = digestMessages("DU0MGR").length + digestMessages("DU0MGR2").length;
      return posted + postedDms === rows.length;
    });
    const keys = [...new Set(rows.map((r) => r.digestKey))];
    for (const key of keys) {
      expect(
        rows
          .filter((r) => r.digestKey === key)
          .map((r) => r.target)
          .sort(),
      ).toEqual([...TARGETS].sort());
    }
    expect(digestMessages("C0FULFILL")).toHaveLength(keys.length);
    expect(digestMessages("C0ADS")).toHaveLength(keys.length);
    expect(digestMessages("DU0MGR")).toHaveLength(keys.length);
    expect(digestMessages("DU0MGR2")).toHaveLength(keys.length);
    // A tick is a cron second, read as its ISO time.
    for (const key of keys) expect(new Date(key).getUTCSeconds() % 2).toBe(0);
  });

  it("carries the week's figures and the checklist", async () => {
    // A tick of its own: every scheduled one may have come before beforeAll's insert.
    const before = digestMessages("C0FULFILL").length;
    await sendDigest(h.bot.deps, "2026-11-16T08:00:00.000Z");
    const message = await eventually(async () => digestMessages("C0FULFILL")[before]);
    const shown = JSON.stringify(message?.blocks);
    expect(shown).toContain("Weekly digest · fulfillment-ops");
    expect(shown).toContain("*Opened*\\n1 in 7d");
    expect(shown).toContain("No role past its SLA");
    expect(h.fake.violations).toEqual([]);
  });

  it("sends nothing twice when the same tick runs twice, even at once", async () => {
    const key = "2026-11-23T08:00:00.000Z";
    const [first, again] = await Promise.all([
      sendDigest(h.bot.deps, key),
      sendDigest(second.deps, key),
    ]);
    expect(first.sent + again.sent).toBe(4);
    expect(first.skipped + again.skipped).toBe(4);
    const third = await sendDigest(h.bot.deps, key);
    expect(third).toEqual({ key, sent: 0, skipped: 4 });
  });
});
