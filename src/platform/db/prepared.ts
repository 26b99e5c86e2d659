/**
 * drizzle's postgres.js driver runs every query unprepared (`prepare: false` unless the query
 * was built with `.prepare(name)`). postgres.js then sends Parse and Describe, waits for the
 * parameter types, and only then Bind and Execute: two round trips for every query with
 * parameters, and the server parses and plans it each time. Prepared, a statement seen before
 * on that connection is one round trip and no parse.
 *
 * `preparing(sql)` is the client drizzle gets: it prepares queries of up to
 * MAX_PREPARED_PARAMS parameters, the fixed shapes the code runs over and over (one row by id,
 * a lane's head, an intake batch passing its rows as one JSON array). Queries with more (a
 * multi-row insert, a long IN list) change text with their size; they stay unnamed, so the
 * statement cache each connection keeps (postgres.js never evicts; a connection is replaced
 * after `max_lifetime`) stays about as large as the number of query shapes in the code.
 */
import type postgres from "postgres";

export const MAX_PREPARED_PARAMS = 16;

type Callback = (sql: postgres.Sql) => unknown;

export function preparing(sql: postgres.Sql): postgres.Sql {
  const wrapScope =
    (method: "begin" | "savepoint") =>
    (...args: unknown[]) => {
      const callback = args.pop() as Callback;
      const target = sql as unknown as Record<string, (...a: unknown[]) => unknown>;
      return target[method]?.(...args, (scoped: postgres.Sql) => callback(preparing(scoped)));
    };
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property === "unsafe") {
        return (query: string, params: unknown[] = [], options: Record<string, unknown> = {}) =>
          target.unsafe(query, params as never[], {
            ...options,
            prepare: params.length > 0 && params.length <= MAX_PREPARED_PARAMS,
          });
      }
      if (property === "begin" || property === "savepoint") return wrapScope(property);
      return Reflect.get(target, property, receiver);
    },
  });
}
