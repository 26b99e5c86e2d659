/**
 * `/inventory` arguments, parsed strictly and purely: `status [client] [role] [since]`, `mine`,
 * `checklist`, `help` (and `routes …`, handed whole to the routing review). A token is a window when it looks like one (`24h`, `7d`, `2w`), a role
 * when the routing file names such a role, and a client otherwise; `client=`, `role=` and
 * `since=` say it outright when a client shares a role's name. Bad input gets a sentence that
 * says what was wrong, never a guess.
 */
import { z } from "zod";
import { escapeMrkdwn } from "../platform/slack/mrkdwn.js";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const DEFAULT_WINDOW = { ms: 7 * DAY_MS, label: "7d" } as const;
/**
 * How far back status looks at most. Within 30 days every figure stays an everyday query on a
 * million rows (npm run bench:status: under 150 ms); longer trends are a reporting job.
 */
export const MAX_WINDOW_MS = 30 * DAY_MS;

export interface StatusArgs {
  client?: string;
  role?: string;
  /** `vertical=` only: the event's optional vertical (apparel, beauty…). */
  vertical?: string;
  windowMs: number;
  /** As typed (normalised), e.g. "24h", for the answer's title. */
  windowLabel: string;
}

export type InventoryCommand =
  | { kind: "help" }
  | { kind: "status"; args: StatusArgs }
  | { kind: "mine" }
  | { kind: "checklist" }
  /** `/inventory pipelines [pipeline | client] [window]` (src/deliveries). */
  | { kind: "pipelines"; pipeline?: string; client?: string; windowMs: number; windowLabel: string }
  /** `/inventory recon [client]` lists runs; `/inventory recon run <client>` starts one (src/recon). */
  | { kind: "recon"; run: boolean; client?: string }
  /** `/inventory routes …` belongs to the routing review (src/routing/routes.slack.ts). */
  | { kind: "routes"; text: string }
  /** `/inventory claim|unclaim EX-12 [reason…]`: the card's button, with a reason. */
  | { kind: "claim" | "unclaim"; exceptionId: number; reason?: string };

export type ParseResult = { ok: true; command: InventoryCommand } | { ok: false; error: string };

const SUBCOMMANDS = [
  "status",
  "mine",
  "checklist",
  "pipelines",
  "recon",
  "routes",
  "claim",
  "unclaim",
  "help",
] as const;
/** The window `/inventory pipelines` looks back by default. */
export const PIPELINES_DEFAULT_WINDOW = { ms: DAY_MS, label: "24h" } as const;
const UNIT_MS = { h: HOUR_MS, d: DAY_MS, w: 7 * DAY_MS } as const;

const clientName = z
  .string()
  .max(100, "is longer than 100 characters")
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._@/+-]*$/,
    "is not a client name (letters, digits and . _ - @ / + only)",
  );

const windowText = z
  .string()
  .regex(/^\d+[a-z]*$/, "is not a time window")
  .transform((text, ctx) => {
    const [, digits = "", unit = ""] = /^(\d+)([a-z]*)$/.exec(text) ?? [];
    const amount = Number(digits);
    if (unit === "") {
      ctx.addIssue({
        code: "custom",
        message: `needs a unit: ${amount}h, ${amount}d or ${amount}w`,
      });
      return z.NEVER;
    }
    if (!(unit in UNIT_MS)) {
      ctx.addIssue({
        code: "custom",
        message: "has an unknown unit: use hours, days or weeks, like 24h, 7d or 2w",
      });
      return z.NEVER;
    }
    const ms = amount * UNIT_MS[unit as keyof typeof UNIT_MS];
    if (amount < 1) {
      ctx.addIssue({ code: "custom", message: "is empty: look back at least 1h" });
      return z.NEVER;
    }
    if (ms > MAX_WINDOW_MS) {
      ctx.addIssue({ code: "custom", message: "is longer than the 30 days status looks back" });
      return z.NEVER;
    }
    return { ms, label: `${amount}${unit}` };
  });

/** Looks like an attempt at a window (digits, then at most a short unit word). */
const WINDOW_LIKE = /^\d+(?:[a-z]{0,2}|hours?|days?|weeks?|mins?|minutes?|months?)$/;

export function parseInventoryCommand(
  text: string,
  known: { roles: string[]; pipelines?: string[] },
): ParseResult {
  const tokens = text.trim().split(/\s+/).filter(Boolean);
  const [first, ...rest] = tokens;
  if (first === undefined) return { ok: true, command: { kind: "help" } };
  const sub = first.toLowerCase();
  switch (sub) {
    case "help":
      return { ok: true, command: { kind: "help" } };
    case "mine":
    case "checklist":
      if (rest.length > 0) {
        return fail(`\`/inventory ${sub}\` takes no arguments, but got ${listed(rest)}.`);
      }
      return { ok: true, command: { kind: sub } };
    case "status":
      return parseStatus(rest, known.roles);
    case "pipelines":
      return parsePipelines(rest, known.pipelines ?? []);
    case "recon":
      return parseRecon(rest);
    case "routes":
      return {
        ok: true,
        command: { kind: "routes", text: text.trim().slice(first.length).trim() },
      };
    case "claim":
    case "unclaim": {
      const id = /^(?:ex-)?(\d{1,15})$/i.exec(rest[0] ?? "");
      if (!id?.[1]) {
        return fail(
          `\`/inventory ${sub}\` needs the exception, e.g. \`/inventory ${sub} EX-12 why…\`${rest[0] ? `; \`${code(rest[0])}\` is not one` : ""}.`,
        );
      }
      const reason = text.trim().split(/\s+/).slice(2).join(" ").trim();
      if (reason.length > 500) return fail("Keep the reason under 500 characters.");
      return {
        ok: true,
        command: { kind: sub, exceptionId: Number(id[1]), ...(reason ? { reason } : {}) },
      };
    }
    default: {
      const guess = closest(sub);
      return fail(
        `I don't know \`/inventory ${code(first)}\`.${guess ? ` Did you mean \`/inventory ${guess}\`?` : ""}`,
      );
    }
  }
}

function parseRecon(tokens: string[]): ParseResult {
  const run = tokens[0]?.toLowerCase() === "run";
  const rest = run ? tokens.slice(1) : tokens;
  if (rest.length > 1) {
    return fail(
      `\`/inventory recon${run ? " run" : ""}\` takes one client, but got ${listed(rest)}.`,
    );
  }
  if (run && rest.length === 0) return fail("Say which client: `/inventory recon run acme`.");
  const [token] = rest;
  if (token === undefined) return { ok: true, command: { kind: "recon", run } };
  const client = clientName.safeParse(token.startsWith("client=") ? token.slice(7) : token);
  if (!client.success) return fail(`\`${code(token)}\` ${firstMessage(client.error)}.`);
  return { ok: true, command: { kind: "recon", run, client: client.data } };
}

function parseStatus(tokens: string[], roles: string[]): ParseResult {
  const found: {
    client?: string;
    role?: string;
    vertical?: string;
    window?: { ms: number; label: string };
  } = {};
  const put = (
    key: "client" | "role" | "vertical",
    value: string,
    token: string,
  ): string | null => {
    const before = found[key];
    if (before !== undefined) {
      return `I read both \`${code(before)}\` and \`${code(token)}\` as a ${key}; give one ${key}.`;
    }
    found[key] = value;
    return null;
  };
  for (const token of tokens) {
    const keyed = /^(client|role|since|vertical)=(.*)$/i.exec(token);
    const key = keyed?.[1]?.toLowerCase();
    const value = keyed ? (keyed[2] ?? "") : token;
    let problem: string | null = null;
    if (key === "vertical") {
      const parsed = clientName.safeParse(value);
      problem = parsed.success
        ? put("vertical", parsed.data, value)
        : `\`${code(value)}\` ${firstMessage(parsed.error).replace("client name", "vertical")}.`;
    } else if (key === "since" || (!keyed && WINDOW_LIKE.test(token.toLowerCase()))) {
      const parsed = windowText.safeParse(value.toLowerCase());
      if (!parsed.success) {
        problem = `\`${code(value)}\` ${firstMessage(parsed.error)}.`;
        if (!keyed) problem += ` (A client of that name: write \`client=${code(value)}\`.)`;
      } else if (found.window) {
        problem = `I read both \`${found.window.label}\` and \`${code(value)}\` as the time window; give one.`;
      } else found.window = parsed.data;
    } else if (key === "role" || (!keyed && roles.includes(token))) {
      problem = roles.includes(value)
        ? put("role", value, value)
        : `There is no role \`${code(value)}\`. Roles: ${roles.map((r) => `\`${code(r)}\``).join(", ")}.`;
    } else {
      const parsed = clientName.safeParse(value);
      problem = parsed.success
        ? put("client", parsed.data, value)
        : `\`${code(value)}\` ${firstMessage(parsed.error)}.`;
    }
    if (problem) return fail(problem);
  }
  const window = found.window ?? DEFAULT_WINDOW;
  return {
    ok: true,
    command: {
      kind: "status",
      args: {
        ...(found.client !== undefined ? { client: found.client } : {}),
        ...(found.role !== undefined ? { role: found.role } : {}),
        ...(found.vertical !== undefined ? { vertical: found.vertical } : {}),
        windowMs: window.ms,
        windowLabel: window.label,
      },
    },
  };
}

function parsePipelines(tokens: string[], pipelines: string[]): ParseResult {
  let pipeline: string | undefined;
  let client: string | undefined;
  let window: { ms: number; label: string } | undefined;
  for (const token of tokens) {
    const keyed = /^(client|pipeline|since)=(.*)$/i.exec(token);
    const key = keyed?.[1]?.toLowerCase();
    const value = keyed ? (keyed[2] ?? "") : token;
    if (key === "since" || (!keyed && WINDOW_LIKE.test(token.toLowerCase()))) {
      const parsed = windowText.safeParse(value.toLowerCase());
      if (!parsed.success) return fail(`\`${code(value)}\` ${firstMessage(parsed.error)}.`);
      if (window)
        return fail(
          `I read both \`${window.label}\` and \`${code(value)}\` as the time window; give one.`,
        );
      window = parsed.data;
    } else if (key === "pipeline" || (!keyed && pipelines.includes(token))) {
      if (!pipelines.includes(value)) {
        const known = pipelines.length
          ? `Pipelines: ${pipelines.map((p) => `\`${code(p)}\``).join(", ")}.`
          : "The routing file declares none.";
        return fail(`There is no pipeline \`${code(value)}\`. ${known}`);
      }
      if (pipeline !== undefined) return fail("Give one pipeline at a time.");
      pipeline = value;
    } else {
      const parsed = clientName.safeParse(value);
      if (!parsed.success) return fail(`\`${code(value)}\` ${firstMessage(parsed.error)}.`);
      if (client !== undefined)
        return fail(
          `I read both \`${code(client)}\` and \`${code(value)}\` as a client; give one client.`,
        );
      client = parsed.data;
    }
  }
  if (pipeline !== undefined && (client !== undefined || window !== undefined)) {
    return fail(
      `\`/inventory pipelines ${code(pipeline)}\` shows that pipeline over 1h, 24h, 7d and 30d: give no client or window with it.`,
    );
  }
  const chosen = window ?? PIPELINES_DEFAULT_WINDOW;
  return {
    ok: true,
    command: {
      kind: "pipelines",
      ...(pipeline !== undefined ? { pipeline } : {}),
      ...(client !== undefined ? { client } : {}),
      windowMs: chosen.ms,
      windowLabel: chosen.label,
    },
  };
}

function fail(error: string): ParseResult {
  return { ok: false, error };
}

function firstMessage(error: z.ZodError): string {
  return error.issues[0]?.message ?? "is not valid";
}

/** User text inside backticks: escaped for mrkdwn and cut so an answer stays short. */
function code(text: string): string {
  const cut = text.length > 60 ? `${text.slice(0, 59)}…` : text;
  return escapeMrkdwn(cut.replaceAll("`", "'"));
}

function listed(tokens: string[]): string {
  return tokens.map((token) => `\`${code(token)}\``).join(" ");
}

/** The subcommand one or two typos away, if any. */
function closest(word: string): string | null {
  let best: { name: string; distance: number } | null = null;
  for (const name of SUBCOMMANDS) {
    const distance = editDistance(word, name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name ?? null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
