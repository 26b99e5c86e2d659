/** Turns what a producer sent into either a parsed value or field-by-field problems. */
import type { z } from "zod";

export interface Problem {
  path: string;
  message: string;
}

export const MAX_EVENT_BYTES = 256 * 1024;

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

// In JSON.stringify's output a `\uXXXX` escape is real only when an even number of backslashes
// precedes it (`\\u0000` is the six characters of a backslash and "u0000", which are harmless).
const UNESCAPED = String.raw`(?<=(?:^|[^\\])(?:\\\\)*)`;
const NUL_ESCAPE = new RegExp(String.raw`${UNESCAPED}\\u0000`);
// Well-formed JSON.stringify writes a surrogate pair as the character itself and only a lone
// surrogate as an escape, so every surrogate escape in its output is a lone one.
const LONE_SURROGATE_ESCAPE = String.raw`${UNESCAPED}\\u[dD][89a-fA-F][0-9a-fA-F]{2}`;
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function check<S extends z.ZodType>(schema: S, data: unknown): Checked<z.infer<S>> {
  const raw = safeStringify(data);
  if (raw === undefined)
    return { ok: false, problems: [{ path: "(event)", message: "is not JSON" }] };
  if (Buffer.byteLength(raw) > MAX_EVENT_BYTES) {
    return {
      ok: false,
      problems: [{ path: "(event)", message: `is larger than ${MAX_EVENT_BYTES / 1024} KiB` }],
    };
  }
  // Postgres text cannot hold NUL, so an event carrying one could never be stored as sent.
  if (NUL_ESCAPE.test(raw)) {
    return {
      ok: false,
      problems: [{ path: "(event)", message: "contains a NUL character (\\u0000)" }],
    };
  }
  // A lone surrogate is what a producer leaves when it cuts text in the middle of an emoji.
  // Postgres jsonb refuses it, so it becomes U+FFFD, as any UTF-8 decoder would make it,
  // rather than turning an otherwise good failure event into a rejection.
  const input = new RegExp(LONE_SURROGATE_ESCAPE).test(raw)
    ? JSON.parse(raw.replace(new RegExp(LONE_SURROGATE_ESCAPE, "g"), "\\ufffd"))
    : data;
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    problems: result.error.issues.flatMap((issue) => problemsOf(issue, input)),
  };
}

/**
 * What a person reading the rejection needs: one line per field. Each unknown key gets its own
 * line (zod lists them all in one), and a missing field says so.
 */
function problemsOf(issue: z.core.$ZodIssue, input: unknown): Problem[] {
  const path = issue.path.map(String);
  const at = (parts: string[]) => (parts.length ? storableText(parts.join(".")) : "(event)");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: at(path),
      message: `has an unknown field "${storableText(key)}"`,
    }));
  }
  const missing =
    issue.code === "invalid_type" && path.length > 0 && valueAt(input, path) === undefined;
  return [{ path: at(path), message: missing ? "is required" : storableText(issue.message) }];
}

function valueAt(data: unknown, path: string[]): unknown {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Text Postgres will store (text and jsonb): lone surrogates and NUL become U+FFFD. */
export function storableText(text: string): string {
  return wellFormed(text).replaceAll("\u0000", "\ufffd");
}

/** `String.prototype.toWellFormed` (ES2024): lone surrogates become U+FFFD. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATES, "\ufffd");
}

/** JSON text of anything a job may carry, capped, for the rejected-event record. */
export function rawText(data: unknown, max = 64 * 1024): string {
  const text = safeStringify(data) ?? describe(data);
  const capped =
    text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
  return storableText(capped);
}

function safeStringify(data: unknown): string | undefined {
  try {
    return JSON.stringify(data);
  } catch {
    // Cycles, BigInt, or nesting deeper than the stack.
    return undefined;
  }
}

/** What a value that is not JSON looks like, for a person reading the rejection. */
function describe(data: unknown): string {
  try {
    return String(data);
  } catch {
    // An object without a prototype has no toString.
    return Object.prototype.toString.call(data);
  }
}

/** The eventId of an event that failed validation, when it has a usable one. */
export function claimedEventId(data: unknown): string | null {
  if (data && typeof data === "object" && "eventId" in data) {
    const id = (data as { eventId: unknown }).eventId;
    if (typeof id === "string" && id.length > 0) return storableText(id.slice(0, 200));
  }
  return null;
}
