/**
 * Error helpers. Expected outcomes are returned as values with a code (`{ ok: false, code }`)
 * and turned into sentences by each feature's `*.messages.ts`; what is thrown is unexpected.
 */
/** SQLSTATE of a Postgres error, wherever drizzle wrapped it. */
export function pgErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function assertNever(value: never): never {
  throw new Error(`Unexpected value: ${JSON.stringify(value)}`);
}
