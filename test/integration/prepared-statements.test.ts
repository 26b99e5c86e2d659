/**
 * The client drizzle runs on (src/platform/db/prepared.ts): a query with a few parameters is
 * prepared on its connection, so running it again is one round trip; a query with many (a
 * multi-row insert, whose text changes with its size) is not, so the statements a connection
 * keeps stay as few as the code's query shapes.
 */
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { MAX_PREPARED_PARAMS } from "../../src/platform/db/prepared.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({ roles: [] });

describe("statements on a connection", () => {
  it("prepares a query with few parameters and leaves one with many unnamed", async () => {
    const many = Array.from({ length: MAX_PREPARED_PARAMS + 1 }, (_, i) => i);
    const prepared = await h.bot.deps.db.transaction(async (tx) => {
      for (let i = 0; i < 2; i++) {
        await tx.execute(sql`select ${i}::int + ${1}::int as few_parameters_probe`);
        await tx.execute(
          sql`select ${sql.join(
            many.map((n) => sql`${n}::int`),
            sql`, `,
          )} as many_parameters_probe`,
        );
      }
      // Same transaction, same connection: the statements it holds.
      return tx.execute<{ statement: string }>(
        sql`select statement from pg_prepared_statements where statement like '%parameters_probe%' and statement not like '%pg_prepared_statements%'`,
      );
    });
    const statements = prepared.map((row) => row.statement);
    expect(statements.filter((s) => s.includes("few_parameters_probe"))).toHaveLength(1);
    expect(statements.filter((s) => s.includes("many_parameters_probe"))).toHaveLength(0);
  });
});
