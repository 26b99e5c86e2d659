/**
 * Bad input never loses data: whatever a producer puts on the intake queue, it ends as an
 * exception occurrence or as a rejected-event row that says what was wrong, and the worker
 * keeps going. fast-check throws arbitrary values at `ingestFailure` directly (many runs,
 * cheap) and a smaller sample through the real BullMQ queue and worker.
 */
import { and, eq } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FAILURE_MODES } from "../../src/intake/failure-event.schema.js";
import { type IntakeResult, ingestFailure } from "../../src/intake/intake.service.js";
import { wellFormed } from "../../src/intake/validation.js";
import {
  auditLog,
  exceptions,
  failureEvents,
  rejectedEvents,
} from "../../src/platform/db/schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({ roles: ["worker"] });

let jobSeq = 0;
const nextJobId = () => `prop-${process.pid}-${++jobSeq}`;

// ---- arbitraries ----

/** Any UTF-16 code unit: lone surrogates, NUL, controls, RTL overrides. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const tricky = fc.constantFrom(
  "",
  " ",
  "\ud800",
  "x\udfffy",
  "💥🧨",
  "💥".slice(0, 1),
  "a\u0000b",
  "\u202Egnp.exe",
  "\u200f\u05e9\u05dc\u05d5\u05dd",
  "e\u0301",
  "<!channel> <@U0ALICE> <https://evil.test|click>",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "x".repeat(10_001),
);
const nastyString = fc.oneof(
  { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: codeUnit, maxLength: 20 }) },
  { weight: 2, arbitrary: tricky },
);
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);
const isoDate = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .date({ min: new Date("1970-01-01"), max: new Date("2100-01-01"), noInvalidDate: true })
      .map((d) => d.toISOString()),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "2026-02-31T00:00:00Z",
      "2026-02-29T12:00:00Z",
      "2024-02-29T12:00:00Z",
      "0000-01-01T00:00:00Z",
      "0001-01-01T00:00:00+14:00",
      "9999-12-31T23:59:59-12:00",
      "2026-11-26T09:00:00+23:59",
      "2026-11-26T24:00:00Z",
      "2026-11-26T09:00:00",
      "2026-11-26",
      "yesterday",
      "1764147600",
    ),
  },
  { weight: 1, arbitrary: nastyString },
);
const deepValue = fc.integer({ min: 50, max: 2_000 }).map((depth) => {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
  return value;
});
/** A JSON object with an own `__proto__` / `constructor` key, as JSON.parse builds it. */
const pollution = fc
  .constantFrom(
    '{"__proto__": {"polluted": true}}',
    '{"constructor": {"prototype": {"polluted": true}}}',
    '{"__proto__": null, "a": 1}',
  )
  .map((text) => JSON.parse(text) as Record<string, unknown>);

const orWrong = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 8, arbitrary: good }, { weight: 1, arbitrary: wrongType });

const eventLike = fc.record(
  {
    eventId: orWrong(nastyString),
    occurredAt: orWrong(isoDate),
    client: orWrong(nastyString),
    vertical: orWrong(nastyString),
    sku: orWrong(nastyString),
    sourceSystem: orWrong(nastyString),
    targetSystem: orWrong(fc.oneof(nastyString, fc.constantFrom("ads.google", "ads.meta"))),
    operation: orWrong(nastyString),
    failureMode: orWrong(fc.oneof(fc.constantFrom(...FAILURE_MODES), nastyString)),
    error: orWrong(
      fc.record(
        {
          message: orWrong(nastyString),
          code: orWrong(nastyString),
          httpStatus: orWrong(
            fc.oneof(fc.integer({ min: 100, max: 599 }), fc.constant("500"), fc.integer()),
          ),
        },
        { requiredKeys: ["message"] },
      ),
    ),
    attempts: orWrong(fc.oneof(fc.nat(), fc.constant("5"), fc.constant(-1), fc.constant(1.5))),
    quantity: orWrong(
      fc.record(
        {
          expected: fc.oneof(fc.double(), fc.constant("12")),
          observed: fc.oneof(fc.integer(), fc.constant(Number.NaN)),
        },
        { requiredKeys: [] },
      ),
    ),
    traceId: orWrong(nastyString),
    links: orWrong(
      fc.array(
        fc.record({
          label: nastyString,
          url: fc.oneof(
            fc.webUrl(),
            fc.constantFrom("javascript:alert(1)", "http://x.test/<!channel>", "ftp://x"),
          ),
        }),
        { maxLength: 12 },
      ),
    ),
    retry: orWrong(
      fc.record({
        queue: nastyString,
        name: nastyString,
        data: fc.oneof(
          fc.dictionary(nastyString, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
          deepValue.map((deep) => ({ deep })),
          pollution,
        ),
      }),
    ),
  },
  {
    requiredKeys: [
      "eventId",
      "occurredAt",
      "client",
      "sku",
      "sourceSystem",
      "targetSystem",
      "failureMode",
      "error",
      "attempts",
    ],
  },
);

/** What careless or broken producers do to an otherwise plausible event. */
const mutated = fc.oneof(
  { weight: 4, arbitrary: eventLike },
  {
    weight: 1,
    arbitrary: fc.tuple(eventLike, pollution).map(([event, bad]) => Object.assign(bad, event)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(eventLike, fc.double({ min: 0, max: 1, noNaN: true }))
      .map(([event, cut]) => {
        const text = JSON.stringify(event);
        return text.slice(0, Math.floor(text.length * cut));
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(eventLike, fc.string({ maxLength: 20 }), fc.anything({ maxDepth: 2 }))
      .map(([event, key, value]) => ({ ...event, [key]: value })),
  },
  {
    weight: 1,
    arbitrary: eventLike.map((event) =>
      Object.fromEntries(
        Object.entries(event).map(([k, v]) => [k, typeof v === "number" ? String(v) : v]),
      ),
    ),
  },
);

/** Mostly well-formed events (so the accepted path is exercised hard too), with nasty text. */
const mostlyValid = fc
  .record({
    eventId: nastyString,
    client: nastyString,
    sku: nastyString,
    message: nastyString,
    mode: fc.constantFrom(...FAILURE_MODES),
    retryData: fc.option(
      fc.oneof(
        fc.dictionary(nastyString, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
        pollution,
      ),
    ),
  })
  .map(({ eventId, client, sku, message, mode, retryData }) => ({
    ...failureEvent({ eventId, client, sku, failureMode: mode, error: { message } }),
    ...(retryData ? { retry: { queue: "q", name: "n", data: retryData } } : {}),
  }));

const anyValue = fc.anything({
  maxDepth: 4,
  withNullPrototype: true,
  withObjectString: true,
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
  withBigInt: true,
  withDate: true,
});

// ---- the invariant ----

async function accountedFor(jobId: string, data: unknown, result: IntakeResult): Promise<void> {
  const db = h.bot.deps.db;
  if (result.kind === "rejected") {
    const [row] = await db
      .select()
      .from(rejectedEvents)
      .where(eq(rejectedEvents.sourceJobId, jobId));
    expect(row, `rejected row for ${jobId}`).toBeDefined();
    expect(row!.id).toBe(result.rejectedId);
    expect(row!.errors.length).toBeGreaterThan(0);
    for (const problem of row!.errors) {
      expect(typeof problem.path).toBe("string");
      expect(problem.message.length).toBeGreaterThan(0);
    }
    expect(row!.rawText.length).toBeGreaterThan(0);
    const audit = await db
      .select({ id: auditLog.id })
      .from(auditLog)
      .where(and(eq(auditLog.rejectedEventId, row!.id), eq(auditLog.action, "event_rejected")));
    expect(audit).toHaveLength(1);
    return;
  }
  const [exception] = await db
    .select({ id: exceptions.id, sku: exceptions.sku })
    .from(exceptions)
    .where(eq(exceptions.id, result.exceptionId));
  expect(exception, `exception for ${jobId}`).toBeDefined();
  const eventId = wellFormed(String((data as { eventId: string }).eventId).trim());
  const [stored] = await db
    .select({ exceptionId: failureEvents.exceptionId })
    .from(failureEvents)
    .where(eq(failureEvents.eventId, eventId));
  expect(stored?.exceptionId, `failure_events row for ${JSON.stringify(eventId)}`).toBe(
    result.exceptionId,
  );
}

async function ingestChecked(data: unknown): Promise<IntakeResult> {
  const jobId = nextJobId();
  const result = await ingestFailure(h.bot.deps, { id: jobId, data });
  await accountedFor(jobId, data, result);
  return result;
}

// Hundreds of cases each, every one a round trip to Postgres: how long that takes depends on
// the machine's load, not on what is checked. The budget is generous on purpose.
describe("intake under arbitrary input", { timeout: 120_000 }, () => {
  it("turns arbitrary JavaScript values into a rejected-event row with a reason", async () => {
    await fc.assert(
      fc.asyncProperty(anyValue, async (data) => {
        await ingestChecked(data);
      }),
      { numRuns: 300 },
    );
  });

  it("turns arbitrary JSON into an exception or a rejection", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (data) => {
        await ingestChecked(data);
      }),
      { numRuns: 200 },
    );
  });

  // 500 events through the real intake; since unknown fields are kept rather than refused, more
  // of them open exceptions (dearer than a rejection), which takes 20-40 s on a busy 2-core box.
  it("accounts for broken, mistyped, polluted and truncated events", {
    timeout: 90_000,
  }, async () => {
    const kinds = new Set<string>();
    await fc.assert(
      fc.asyncProperty(mutated, async (data) => {
        kinds.add((await ingestChecked(data)).kind);
      }),
      { numRuns: 500 },
    );
    // Nearly all of these are rejections; the accepted path is driven hard by the next test.
    expect(kinds).toContain("rejected");
  });

  it("opens exceptions for valid events whatever Unicode their text carries", async () => {
    const kinds: string[] = [];
    await fc.assert(
      fc.asyncProperty(mostlyValid, async (data) => {
        kinds.push((await ingestChecked(data)).kind);
      }),
      { numRuns: 300 },
    );
    expect(kinds.filter((kind) => kind !== "rejected").length).toBeGreaterThan(kinds.length / 2);
    // Prototype pollution through retry data or keys did not reach Object.prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("records an event whose text was cut in the middle of an emoji as an exception", async () => {
    const message = `Shopify said ${"💥".repeat(3)}`.slice(0, -1);
    const result = await ingestChecked(failureEvent({ sku: "SKU-\ud83d", error: { message } }));
    expect(result.kind).toBe("opened");
    if (result.kind === "rejected") return;
    const row = await h.exception(result.exceptionId);
    expect(row.sku).toBe("SKU-\ufffd");
  });
});

describe("inputs that once lost the event", () => {
  it.each([
    ["an eventId with a NUL", { ...failureEvent(), eventId: "evt-\u0000-1" }, "contains a NUL"],
    ["year 0000", failureEvent({ occurredAt: "0000-01-01T00:00:00Z" }), "real date"],
    ["31 February", failureEvent({ occurredAt: "2026-02-31T10:00:00Z" }), "real date"],
    ["an object without a prototype", Object.assign(Object.create(null), { a: 1n }), "not JSON"],
  ])("rejects %s with a reason instead of failing the job", async (_name, data, reason) => {
    const result = await ingestChecked(data);
    expect(result.kind).toBe("rejected");
    if (result.kind !== "rejected") return;
    expect(result.problems.map((p) => `${p.path} ${p.message}`).join(" ")).toContain(reason);
  });

  it("keeps an unknown key that is a lone surrogate, as U+FFFD, instead of failing the job", async () => {
    const event = { ...failureEvent(), "\ud800": 1 };
    const result = await ingestChecked(event);
    expect(result.kind).toBe("opened");
    const [stored] = await h.bot.deps.db
      .select()
      .from(failureEvents)
      .where(eq(failureEvents.eventId, event.eventId));
    expect(stored?.payload).toMatchObject({ "\ufffd": 1 });
  });

  it("accepts an error message that mentions \\u0000 as text", async () => {
    const result = await ingestChecked(
      failureEvent({ error: { message: String.raw`bad byte \u0000 in C:\feed\u0000.csv` } }),
    );
    expect(result.kind).toBe("opened");
  });
});

describe("intake through the real queue", { timeout: 120_000 }, () => {
  it("accounts for every job of a hostile burst and the worker keeps consuming", async () => {
    const samples = fc.sample(fc.oneof(mutated, mostlyValid, fc.jsonValue({ maxDepth: 4 })), {
      numRuns: 120,
      seed: 6,
    });
    const jobs = samples.map((data) => ({ jobId: nextJobId(), data }));
    for (const job of jobs) await h.reportRaw(job.data, job.jobId);
    const db = h.bot.deps.db;
    await eventually(
      async () => {
        const failed = await h.bot.deps.queues.failures.getJobCountByTypes("failed");
        if (failed > 0) {
          const [job] = await h.bot.deps.queues.failures.getFailed(0, 0);
          throw new Error(`intake job ${job?.id} failed: ${job?.failedReason}`);
        }
        const done = await h.bot.deps.queues.failures.getJobCountByTypes("completed");
        return done >= jobs.length;
      },
      60_000,
      "every hostile job to complete",
    );
    for (const job of jobs) {
      const queued = await h.bot.deps.queues.failures.getJob(job.jobId);
      const kind = queued?.returnvalue as IntakeResult["kind"] | undefined;
      expect(kind, `job ${job.jobId}`).toBeDefined();
      if (kind === "rejected") {
        const rows = await db
          .select({ id: rejectedEvents.id })
          .from(rejectedEvents)
          .where(eq(rejectedEvents.sourceJobId, job.jobId));
        expect(rows).toHaveLength(1);
      } else {
        const eventId = wellFormed(String((job.data as { eventId: string }).eventId).trim());
        const rows = await db
          .select({ id: failureEvents.exceptionId })
          .from(failureEvents)
          .where(eq(failureEvents.eventId, eventId));
        expect(rows).toHaveLength(1);
      }
    }
    const good = failureEvent({ sku: "SKU-AFTER-BURST" });
    await h.report(good);
    await eventually(async () => (await h.exceptionsFor("SKU-AFTER-BURST")).length === 1);
  });
});
