/**
 * The exception seam (src/exceptions/change.ts) on the real Postgres: a change writes its row,
 * deadline, audit entry and outbox rows in one transaction; the after-commit hooks see only
 * committed changes, never a rolled-back one, and a hook that fails does not undo the change.
 */
import { and, eq } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deps } from "../../src/app/deps.js";
import {
  changeException,
  inChangeTransaction,
  type RowChange,
} from "../../src/exceptions/change.js";
import type { CommittedChange } from "../../src/exceptions/effects.js";
import { ingestFailure } from "../../src/intake/intake.service.js";
import { exceptions, slackOutbox } from "../../src/platform/db/schema.js";
import { failureEvent } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

// No roles: nothing but the deps, so only the calls below change anything.
const h = useHarness({ roles: [] });
/** Reads through a connection of its own: what other processes see. */
let outside: postgres.Sql;

beforeAll(() => {
  outside = postgres(h.databaseUrl, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await outside?.end();
});

const DEADLINE = new Date("2030-01-01T00:00:00Z");

/** The bot's deps with recording hooks in place of the registered ones. */
function depsWith(
  afterCommit: ((changes: readonly CommittedChange[]) => Promise<void>)[],
  nextDeadline: Deps["exceptionEffects"]["nextDeadline"] = () => DEADLINE,
): Deps {
  const base = h.bot.deps;
  return { ...base, exceptionEffects: { ...base.exceptionEffects, nextDeadline, afterCommit } };
}

async function openOne(sku: string): Promise<number> {
  const result = await ingestFailure(h.bot.deps, {
    id: `job-${sku}`,
    data: failureEvent({ sku }),
  });
  if (result.kind !== "opened") throw new Error(`expected opened, got ${result.kind}`);
  return result.exceptionId;
}

/** A change kind the state machine does not have yet: one call, one pure step. */
const escalateSeverity = (by: string): RowChange => ({
  patch: { severity: "critical" },
  audit: {
    actor: by,
    source: "test",
    action: "severity_raised",
    note: "the client called",
    expectedOutcome: "someone picks it up within the hour",
  },
  note: "Severity raised to critical.",
});

async function outboxOf(exceptionId: number) {
  return h.bot.deps.db
    .select({ kind: slackOutbox.kind, payload: slackOutbox.payload })
    .from(slackOutbox)
    .where(and(eq(slackOutbox.exceptionId, exceptionId), eq(slackOutbox.state, "pending")));
}

describe("the exception seam", () => {
  it("intake opens through it: deadline stored with the row, card queued, audit written", async () => {
    const id = await openOne("seam-open");
    const row = await h.exception(id);
    // The registered effect: the routing's SLA policy, computed in the opening transaction.
    expect(row.nextDeadlineAt).toBeInstanceOf(Date);
    expect((await h.audit(id)).map((entry) => entry.action)).toEqual(["opened"]);
    expect((await outboxOf(id)).map((entry) => entry.kind)).toEqual(["card"]);
  });

  it("a new kind of change is one call: row, deadline, audit, card and note in one go", async () => {
    const id = await openOne("seam-new-kind");
    const seen: CommittedChange[] = [];
    const deps = depsWith([async (changes) => void seen.push(...changes)]);
    const result = await changeException(deps, id, () => ({
      ok: true,
      change: escalateSeverity("U0ALICE"),
      facts: "raised",
    }));
    expect(result.ok && result.facts).toBe("raised");
    const row = await h.exception(id);
    expect(row.severity).toBe("critical");
    expect(row.nextDeadlineAt?.toISOString()).toBe(DEADLINE.toISOString());
    const audit = (await h.audit(id)).at(-1);
    expect(audit).toMatchObject({
      actor: "U0ALICE",
      action: "severity_raised",
      note: "the client called",
      expectedOutcome: "someone picks it up within the hour",
      stateBefore: "open",
      stateAfter: "open",
    });
    const outbox = await outboxOf(id);
    expect(outbox.map((entry) => entry.kind).sort()).toEqual(["card", "message"]);
    expect(JSON.stringify(outbox)).toContain("Severity raised to critical.");
    expect(seen).toHaveLength(1);
    expect(seen[0]?.action).toBe("severity_raised");
    expect(seen[0]?.before?.severity).not.toBe("critical");
    expect(seen[0]?.row.severity).toBe("critical");
  });

  it("runs the hooks after the commit: another connection already sees the change", async () => {
    const id = await openOne("seam-after-commit");
    const seenOutside: string[] = [];
    const deps = depsWith([
      async () => {
        const [row] = await outside`select severity from exceptions where id = ${id}`;
        seenOutside.push(String(row?.severity));
      },
    ]);
    await changeException(deps, id, () => ({
      ok: true,
      change: escalateSeverity("U0ALICE"),
      facts: null,
    }));
    expect(seenOutside).toEqual(["critical"]);
  });

  it("runs no hook for a transaction that rolls back, and leaves nothing behind", async () => {
    const id = await openOne("seam-rollback");
    const auditBefore = (await h.audit(id)).length;
    const calls: number[] = [];
    const deps = depsWith([async (changes) => void calls.push(changes.length)]);
    await expect(
      inChangeTransaction(deps, async (unit) => {
        await unit.change(id, () => ({ ok: true, change: escalateSeverity("U0ALICE"), facts: 1 }));
        throw new Error("something later in the transaction failed");
      }),
    ).rejects.toThrow("something later");
    expect(calls).toEqual([]);
    expect((await h.exception(id)).severity).not.toBe("critical");
    expect(await h.audit(id)).toHaveLength(auditBefore);
    expect((await outboxOf(id)).filter((entry) => entry.kind === "message")).toEqual([]);
  });

  it("a refusal writes nothing and runs no hook", async () => {
    const id = await openOne("seam-refusal");
    const calls: number[] = [];
    const deps = depsWith([async (changes) => void calls.push(changes.length)]);
    const result = await changeException(deps, id, () => ({
      ok: false,
      refusal: "not now",
    }));
    expect(result).toEqual({ ok: false, refusal: "not now" });
    expect(calls).toEqual([]);
    expect((await h.audit(id)).map((entry) => entry.action)).toEqual(["opened"]);
    const missing = await changeException(deps, 999_999, () => ({
      ok: true,
      change: escalateSeverity("U0ALICE"),
      facts: null,
    }));
    expect(missing).toEqual({ ok: false, refusal: null });
  });

  it("a failing hook does not undo the change, and the hooks after it still run", async () => {
    const id = await openOne("seam-failing-hook");
    const later: number[] = [];
    const deps = depsWith([
      async () => {
        throw new Error("Redis said no");
      },
      async (changes) => void later.push(changes.length),
    ]);
    const result = await changeException(deps, id, () => ({
      ok: true,
      change: escalateSeverity("U0ALICE"),
      facts: null,
    }));
    expect(result.ok).toBe(true);
    expect((await h.exception(id)).severity).toBe("critical");
    expect(later).toEqual([1]);
  });

  it("many rows with the same change share one statement and each get an audit row", async () => {
    const ids = [await openOne("seam-many-1"), await openOne("seam-many-2")];
    const seen: CommittedChange[] = [];
    const deps = depsWith([async (changes) => void seen.push(...changes)]);
    const result = await inChangeTransaction(deps, (unit) =>
      unit.changeMany([...ids, 999_998], () => ({
        ok: true,
        change: escalateSeverity("U0BOB"),
        facts: null,
      })),
    );
    expect(result.changed.map((done) => done.row.id).sort()).toEqual([...ids].sort());
    expect(result.refused).toEqual([{ exceptionId: 999_998, refusal: null }]);
    for (const id of ids) {
      expect((await h.audit(id)).at(-1)?.action).toBe("severity_raised");
    }
    const rows = await h.bot.deps.db
      .select({ severity: exceptions.severity })
      .from(exceptions)
      .where(eq(exceptions.sku, "seam-many-1"));
    expect(rows[0]?.severity).toBe("critical");
    expect(seen).toHaveLength(2);
  });
});
