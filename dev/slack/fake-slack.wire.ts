/** Small pure helpers of the Slack stand-in: Slack's wire formats, ids and error replies. */
import type { ServerResponse } from "node:http";
import type { FakeChannel, Json } from "./fake-slack.types.js";

export const JSON_FIELDS = [
  "blocks",
  "attachments",
  "metadata",
  "view",
  "unfurls",
  "user_auth_blocks",
  "files",
];

export const err = (error: string, extra: Json = {}): Json => ({ ok: false, error, ...extra });
export const str = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;
export const truthy = (value: unknown): boolean =>
  value === true || value === "true" || value === "1";
export const compact = (obj: Json): Json =>
  Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
export const clone = <T>(value: T): T => structuredClone(value);

/** Slack ts as an exact integer of microseconds (fits in 2^53), for ordering and ranges. */
export function tsMicros(ts: string): number {
  const [sec = "0", frac = ""] = ts.split(".");
  return Number(sec) * 1_000_000 + Number(`${frac}000000`.slice(0, 6));
}

export function tzOffsetSec(tz: string, at: Date): number {
  try {
    const name = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "longOffset" })
      .formatToParts(at)
      .find((part) => part.type === "timeZoneName")?.value;
    const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name ?? "");
    if (!m) return 0;
    return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60);
  } catch {
    return 0;
  }
}

/** `D<user>` for one user, `G<users>` for a group DM. */
export function dmId(userIds: string[]): string {
  return userIds.length === 1 ? `D${userIds[0]}` : `G${[...userIds].sort().join("")}`;
}

export function isTopLevel(m: Json): boolean {
  return m.thread_ts === undefined || m.thread_ts === m.ts;
}

export function withoutMetadataUnless(m: Json, includeMetadata: boolean): Json {
  const copy = clone(m);
  if (!includeMetadata) delete copy.metadata;
  return copy;
}

export function invalidContent(b: Json): string | undefined {
  if (b.blocks !== undefined && !Array.isArray(b.blocks)) return "invalid_blocks";
  if (b.attachments !== undefined && !Array.isArray(b.attachments)) return "invalid_attachments";
  const hasBlocks = Array.isArray(b.blocks) && b.blocks.length > 0;
  if (!str(b.text) && !hasBlocks && !Array.isArray(b.attachments)) return "no_text";
  const m = b.metadata;
  if (m !== undefined) {
    const valid =
      typeof m === "object" &&
      m !== null &&
      typeof (m as Json).event_type === "string" &&
      typeof (m as Json).event_payload === "object";
    if (!valid) return "invalid_metadata_format";
  }
  return undefined;
}

export function channelInfo(c: FakeChannel): Json {
  const name = c.name ?? c.id.toLowerCase();
  return {
    is_channel: !c.id.startsWith("D"),
    is_group: false,
    is_im: c.id.startsWith("D"),
    is_mpim: false,
    is_private: false,
    is_archived: false,
    is_general: false,
    is_member: true,
    created: 1_600_000_000,
    creator: "U0CREATOR",
    name_normalized: name,
    ...c,
    name,
  };
}

export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return m?.[1];
}

export function parseJson(raw: string): Json | undefined {
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Json)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Form or JSON body as WebClient sends it, with JSON-stringified fields decoded. */
export function parseBody(raw: string, contentType: string | undefined): Json | undefined {
  const body = contentType?.startsWith("application/json")
    ? parseJson(raw || "{}")
    : (Object.fromEntries(new URLSearchParams(raw)) as Json);
  if (body === undefined) return undefined;
  for (const field of JSON_FIELDS) {
    const value = body[field];
    if (typeof value !== "string") continue;
    try {
      body[field] = JSON.parse(value);
    } catch {
      // Left as a string: the handler answers invalid_blocks / invalid_arguments as Slack does.
    }
  }
  return body;
}

export function send(
  res: ServerResponse,
  status: number,
  body: Json | string,
  headers: Record<string, string> = {},
): void {
  const json = typeof body !== "string";
  res.writeHead(status, {
    "content-type": json ? "application/json; charset=utf-8" : "text/plain",
    ...headers,
  });
  res.end(json ? JSON.stringify(body) : body);
}
