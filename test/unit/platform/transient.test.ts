import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { isTransientError, retryTransient } from "../../../src/platform/transient.js";

const logger = pino({ level: "silent" });
const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
/** As drizzle throws them: the driver's error under `cause`. */
const wrapped = (cause: unknown) => Object.assign(new Error("Failed query: ..."), { cause });

describe("isTransientError", () => {
  it.each(["57P01", "40P01", "40001", "08006", "53300", "CONNECTION_CLOSED", "ECONNRESET"])(
    "retries %s, also wrapped by drizzle",
    (code) => {
      expect(isTransientError(pgError(code))).toBe(true);
      expect(isTransientError(wrapped(pgError(code)))).toBe(true);
    },
  );

  it.each(["23505", "22P02", "42P01", "23503"])("does not retry %s", (code) => {
    expect(isTransientError(wrapped(pgError(code)))).toBe(false);
  });

  it("retries ioredis' closed connection and nothing that is not an error", () => {
    expect(isTransientError(new Error("Connection is closed."))).toBe(true);
    expect(isTransientError(new Error("boom"))).toBe(false);
    expect(isTransientError("57P01")).toBe(false);
    expect(isTransientError(null)).toBe(false);
  });
});

describe("retryTransient", () => {
  it("tries again after a transient error and returns the result", async () => {
    let calls = 0;
    const result = await retryTransient(
      async () => {
        calls += 1;
        if (calls < 3) throw wrapped(pgError("57P01"));
        return "done";
      },
      { logger, delaysMs: [1, 1, 1] },
    );
    expect(result).toBe("done");
    expect(calls).toBe(3);
  });

  it("gives up when the delays run out, on a permanent error, and when stopping", async () => {
    let calls = 0;
    const always = async () => {
      calls += 1;
      throw pgError("57P01");
    };
    await expect(retryTransient(always, { logger, delaysMs: [1, 1] })).rejects.toThrow("57P01");
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      retryTransient(
        async () => {
          calls += 1;
          throw pgError("23505");
        },
        { logger, delaysMs: [1, 1] },
      ),
    ).rejects.toThrow("23505");
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      retryTransient(always, { logger, delaysMs: [1, 1], stopping: () => true }),
    ).rejects.toThrow();
    expect(calls).toBe(1);
  });
});
