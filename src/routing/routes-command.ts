// `/inventory routes …` arguments, parsed once with zod, and the pure answer to `routes test`.
import { z } from "zod";
import { pipelineValues, slaValues } from "./diff.js";
import { evaluate, pipelineFor, type RoutableEvent } from "./evaluate.js";
import { MATCH_KEYS, type RoutingConfig } from "./routing-file.schema.js";

export const ROUTES_HELP = [
  "*Routing commands*",
  "• `/inventory routes` — the active version, who approved it, pending proposals, last changes",
  "• `/inventory routes test client=acme targetSystem=ads.google failureMode=throttled` — where such an event goes, now and under each pending proposal",
  "• `/inventory routes show <version>` — one version: its review and its YAML",
  "• `/inventory routes propose` — propose a change (a YAML editor opens); reviewed in the approvals channel",
  "• `/inventory routes rollback <version> [reason]` — propose going back to an earlier version",
  "• `/inventory routes rollback <version> --break-glass <reason>` — admins only: activate at once, flagged in the audit",
].join("\n");

const version = z.coerce
  .number({ error: "expected a version number" })
  .int({ error: "expected a version number" })
  .positive({ error: "expected a version number" });

export const routesCommandSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("status") }),
  z.object({ kind: z.literal("help") }),
  z.object({ kind: z.literal("propose") }),
  z.object({ kind: z.literal("show"), version }),
  z.object({
    kind: z.literal("test"),
    fields: z.partialRecord(z.enum(MATCH_KEYS), z.string()),
  }),
  z.object({
    kind: z.literal("rollback"),
    version,
    breakGlass: z.boolean(),
    reason: z.string().max(500, "keep the reason under 500 characters"),
  }),
]);

export type RoutesCommand = z.infer<typeof routesCommandSchema>;

/** Words, with "double quoted" runs kept together (quotes removed). */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const match of text.matchAll(/(\S*?)"([^"]*)"(\S*)|\S+/g)) {
    tokens.push(
      match[2] === undefined ? match[0] : `${match[1] ?? ""}${match[2]}${match[3] ?? ""}`,
    );
  }
  return tokens;
}

export function parseRoutesCommand(
  text: string,
): { ok: true; command: RoutesCommand } | { ok: false; error: string } {
  const [sub = "status", ...rest] = tokenize(text.trim());
  let raw: unknown;
  switch (sub) {
    case "status":
    case "help":
    case "propose":
      if (rest.length) return { ok: false, error: `\`${sub}\` takes no arguments.` };
      raw = { kind: sub };
      break;
    case "show":
      if (rest.length !== 1)
        return { ok: false, error: "Usage: `/inventory routes show <version>`" };
      raw = { kind: "show", version: rest[0]?.replace(/^v/i, "") };
      break;
    case "test": {
      const fields: Record<string, string> = {};
      for (const pair of rest) {
        const at = pair.indexOf("=");
        if (at <= 0) return { ok: false, error: `\`${pair}\` is not field=value.` };
        const key = pair.slice(0, at);
        if (!(MATCH_KEYS as readonly string[]).includes(key))
          return {
            ok: false,
            error: `\`${key}\` is not an event field; use ${MATCH_KEYS.join(", ")}.`,
          };
        if (key in fields) return { ok: false, error: `\`${key}\` is given twice.` };
        fields[key] = pair.slice(at + 1);
      }
      if (rest.length === 0)
        return {
          ok: false,
          error:
            "Usage: `/inventory routes test client=acme targetSystem=ads.google failureMode=throttled`",
        };
      raw = { kind: "test", fields };
      break;
    }
    case "rollback": {
      const breakGlass = rest.includes("--break-glass");
      const words = rest.filter((word) => word !== "--break-glass");
      const [target, ...reason] = words;
      if (!target)
        return {
          ok: false,
          error: "Usage: `/inventory routes rollback <version> [--break-glass] [reason]`",
        };
      raw = {
        kind: "rollback",
        version: target.replace(/^v/i, ""),
        breakGlass,
        reason: reason.join(" "),
      };
      break;
    }
    default:
      return { ok: false, error: `I don't know \`routes ${sub.slice(0, 40)}\`.` };
  }
  const parsed = routesCommandSchema.safeParse(raw);
  if (!parsed.success)
    return { ok: false, error: parsed.error.issues.map((issue) => issue.message).join("; ") };
  return { ok: true, command: parsed.data };
}

/** Fields left out are empty, as for an event without them: only `*` matches them. */
export function testEvent(
  fields: Partial<Record<(typeof MATCH_KEYS)[number], string>>,
): RoutableEvent {
  return {
    client: fields.client ?? "",
    sku: fields.sku ?? "",
    sourceSystem: fields.sourceSystem ?? "",
    targetSystem: fields.targetSystem ?? "",
    operation: fields.operation ?? "stock_update",
    failureMode: fields.failureMode ?? "",
    ...(fields.vertical === undefined ? {} : { vertical: fields.vertical }),
    ...(fields.eventId === undefined ? {} : { eventId: fields.eventId }),
  };
}

export interface TestAnswer {
  rule: number;
  line: number;
  isDefault: boolean;
  role: string;
  channel: string;
  severity: string;
  sla: Record<string, string>;
  /** The pipeline such a delivery belongs to (name, budget, freshness, hours, role), or null. */
  pipeline:
    | ({ name: string; position: number; line: number } & Record<string, string | number>)
    | null;
}

export function answerTest(config: RoutingConfig, event: RoutableEvent): TestAnswer {
  const decision = evaluate(config, event);
  return {
    rule: decision.rule.index + 1,
    line: decision.rule.line,
    isDefault: decision.rule.match === null,
    role: decision.role.name,
    channel: decision.role.channel,
    severity: decision.severity,
    sla: slaValues(decision.sla),
    pipeline: pipelineAnswer(config, event),
  };
}

function pipelineAnswer(config: RoutingConfig, event: RoutableEvent): TestAnswer["pipeline"] {
  const pipeline = pipelineFor(config, event);
  if (!pipeline) return null;
  return {
    ...pipelineValues(pipeline),
    name: pipeline.name,
    position: pipeline.index + 1,
    line: pipeline.line,
  };
}
