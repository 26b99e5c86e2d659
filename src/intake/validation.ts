/** Turns what a producer sent into either a parsed value or field-by-field problems. */
import type { z } from "zod";

export interface Problem {
  path: string;
  message: string;
}

export const MAX_EVENT_BYTES = 256 * 1024;

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

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
  if (raw.includes("\\u0000")) {
    return {
      ok: false,
      problems: [{ path: "(event)", message: "contains a NUL character (\\u0000)" }],
    };
  }
  const result = schema.safeParse(data);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => ({
      path: issue.path.length ? issue.path.map(String).join(".") : "(event)",
      message: issue.message,
    })),
  };
}

/** JSON text of anything a job may carry, capped, for the rejected-event record. */
export function rawText(data: unknown, max = 64 * 1024): string {
  const text = safeStringify(data) ?? String(data);
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

function safeStringify(data: unknown): string | undefined {
  try {
    return JSON.stringify(data);
  } catch {
    return undefined;
  }
}

/** The eventId of an event that failed validation, when it has a usable one. */
export function claimedEventId(data: unknown): string | null {
  if (data && typeof data === "object" && "eventId" in data) {
    const id = (data as { eventId: unknown }).eventId;
    if (typeof id === "string" && id.length > 0) return id.slice(0, 200);
  }
  return null;
}
