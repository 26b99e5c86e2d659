// The routing file (routing.yml): its zod schema, the resolved types other features code against,
// and the small text formats it contains (support hours). Pure: no I/O, no clock.
import { z } from "zod";
import { parseDuration, parsePercentage } from "../platform/duration.js";
import { isValidTimeZone } from "../platform/time-zone.js";
import { type ProducerRule, producersSchema } from "./producers.js";
import { checkReferences } from "./routing-references.js";
import { type ClientConfig, sourceOfTruthSchema } from "./source-of-truth.schema.js";
import { parseWeeklyHours, type WeeklyHours } from "./weekly-hours.js";

export type { ClientConfig, SourceOfTruth } from "./source-of-truth.schema.js";
export { parseWeeklyHours, type WeeklyHours };

export const SEVERITIES = ["low", "normal", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The string fields of a failure event a route may match on. */
export const MATCH_KEYS = [
  "eventId",
  "client",
  "vertical",
  "sku",
  "sourceSystem",
  "targetSystem",
  "operation",
  "failureMode",
] as const;
export type MatchKey = (typeof MATCH_KEYS)[number];

export interface SlaPolicy {
  claimMs: number;
  resolveMs: number;
  /** Fractions of the claim deadline at which to nudge, ascending, e.g. [0.5, 1]. */
  nudgeAt: number[];
  /** Fraction of the resolve deadline at which to remind the claimer; null = never. */
  remindClaimerAt: number | null;
  repeatMs: number;
  maxEscalations: number;
  /** null = always (24/7). */
  hours: WeeklyHours | null;
  /** IANA zone the hours are read in. */
  timezone: string;
}

export interface RoleConfig {
  name: string;
  channel: string;
  members: string[];
  usergroup?: string;
  managers: string[];
  sla: SlaPolicy;
}

export interface RouteRule {
  index: number;
  /** Field -> patterns (any may match); null = the default route. */
  match: Record<string, string[]> | null;
  role: string;
  severity: Severity;
  /** Already merged: defaults < role < route. */
  sla: SlaPolicy;
  /** 1-based line of the rule in the routing file (0 when built by hand). */
  line: number;
}

/** The fields of a delivery a pipeline may match on. */
export const PIPELINE_MATCH_KEYS = ["client", "sourceSystem", "targetSystem"] as const;
export type PipelineMatchKey = (typeof PIPELINE_MATCH_KEYS)[number];

/**
 * One row of the inventory event matrix: which deliveries belong to it, how fast one must get
 * through (budget) and how often one must get through at all (freshness).
 */
export interface PipelineConfig {
  index: number;
  name: string;
  /** Field -> patterns (any may match); null = every delivery. */
  match: Record<string, string[]> | null;
  /** Time-to-sync budget of one delivery (triggeredAt -> delivered). */
  budgetMs: number;
  /** At least one successful delivery this often, or the pipeline is stale. */
  freshnessMs: number;
  /** When its gates may page; null = always. Read in `timezone`. */
  hours: WeeklyHours | null;
  /** The owning role's zone. */
  timezone: string;
  /** The role its gates go to: as written, or the role its failures route to. */
  role: string;
  /** True when `role` was written in the file (not derived from the routes). */
  roleDeclared: boolean;
  /** 1-based line of the pipeline in the routing file (0 when built by hand). */
  line: number;
}

export interface RoutingConfig {
  roles: Record<string, RoleConfig>;
  routes: RouteRule[];
  /** The inventory event matrix, first match wins; empty when the file declares none. */
  pipelines: PipelineConfig[];
  clients: Record<string, ClientConfig>;
  admins: string[];
  /**
   * Queue-name globs a failure event's `retry.queue` may name: a Retry click adds a job there.
   * Empty: no event may carry a retry. syncdesk's own queues are refused whatever this says.
   */
  retryQueues: string[];
  /** Which role hears about a producer's rejected events (src/routing/producers.ts). */
  producers: ProducerRule[];
  defaultRole: string;
  /**
   * Where open exceptions of a role this version removes go when it is activated:
   * removed role -> role of this version. Read only by the routing review gate.
   */
  reassign: Record<string, string>;
}

export const DEFAULT_SLA: SlaPolicy = {
  claimMs: 15 * 60_000,
  resolveMs: 2 * 3_600_000,
  nudgeAt: [0.5, 1],
  remindClaimerAt: 0.75,
  repeatMs: 3_600_000,
  maxEscalations: 3,
  hours: null,
  timezone: "UTC",
};

// Shared with env.ts (DIGEST_TZ), so it lives on the ground floor.
export { isValidTimeZone };

// ---- schema ----------------------------------------------------------------------------------

/** A strict object whose unknown-key message lists what is allowed; load.ts names each key. */
function strictObject<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? `expected one of: ${allowed}` : undefined,
  });
}

/** A string parsed by a function that throws a readable Error. */
function parsedString<T>(parse: (text: string) => T, expected: string) {
  return z.string({ error: `expected ${expected}` }).transform((text, ctx): T => {
    try {
      return parse(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });
}

const slackId = (pattern: RegExp, what: string) =>
  z.string({ error: `expected a Slack ${what} ID` }).regex(pattern, {
    error: (issue) => `${JSON.stringify(issue.input)} is not a Slack ${what} ID`,
  });

const channelId = slackId(/^[CG][A-Z0-9]{2,}$/, "channel");
const userId = slackId(/^[UW][A-Z0-9]{2,}$/, "user");
const usergroupId = slackId(/^S[A-Z0-9]{2,}$/, "user group");
const userList = z.array(userId, { error: "expected a list of Slack user IDs" });

const duration = parsedString(parseDuration, "a duration like 90s, 15m, 2h or 1d");
const percentage = parsedString(parsePercentage, "a percentage like 50%");
const remindAt = parsedString(
  (text) => (text.trim() === "off" ? null : parsePercentage(text)),
  'a percentage like 75% or "off"',
);
const hours = parsedString(parseWeeklyHours, 'hours like "Mon-Fri 08:00-18:00" or "always"');
const timezone = z
  .string({ error: "expected an IANA time zone like Europe/Berlin" })
  .refine(isValidTimeZone, {
    error: (issue) => `unknown time zone ${JSON.stringify(issue.input)}`,
  });

const slaSchema = strictObject({
  claim: duration.optional(),
  resolve: duration.optional(),
  nudgeAt: z
    .array(percentage, { error: "expected a list of percentages like [50%, 100%]" })
    .optional(),
  remindClaimerAt: remindAt.optional(),
  repeat: duration.optional(),
  maxEscalations: z.int({ error: "expected a whole number >= 0" }).min(0).optional(),
}).transform(
  (sla): Partial<SlaPolicy> => ({
    claimMs: sla.claim,
    resolveMs: sla.resolve,
    nudgeAt: sla.nudgeAt && [...new Set(sla.nudgeAt)].sort((a, b) => a - b),
    remindClaimerAt: sla.remindClaimerAt,
    repeatMs: sla.repeat,
    maxEscalations: sla.maxEscalations,
  }),
);

const roleSchema = strictObject({
  channel: channelId,
  members: userList.default([]),
  usergroup: usergroupId.optional(),
  managers: userList.default([]),
  sla: slaSchema.optional(),
  hours: hours.optional(),
  timezone: timezone.optional(),
}).superRefine(
  (role, ctx) => {
    // Runs even when other keys of the role are wrong, so it only reads what it checks.
    if (Array.isArray(role.members) && role.members.length === 0 && role.usergroup === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["members"],
        message: "a role needs members or a usergroup, or nobody can claim its cards",
      });
    }
  },
  { when: () => true },
);

const pattern = z.string({ error: "expected a string" });
const matchValue = z
  .union([pattern, z.array(pattern).min(1, "the list must not be empty")], {
    error: 'expected a string or a list of strings (quote values like "007")',
  })
  .transform((value) => (typeof value === "string" ? [value] : value));

/**
 * A `match:` map over `keys`: each value a string or a list, at least one key. `leaveOut` says
 * what leaving match out altogether means, for the message.
 */
function matchOver<K extends string>(keys: readonly K[], leaveOut: string) {
  return strictObject(
    Object.fromEntries(keys.map((key) => [key, matchValue.optional()])) as Record<
      K,
      z.ZodOptional<typeof matchValue>
    >,
  ).transform((match, ctx) => {
    const entries = Object.entries(match).filter(([, value]) => value !== undefined);
    // With only unknown keys the map is empty too; the unknown keys already say what is wrong.
    if (entries.length === 0 && ctx.issues.length === 0) {
      ctx.addIssue({
        code: "custom",
        message: `match must name at least one field; leave match out ${leaveOut}`,
      });
      return z.NEVER;
    }
    return Object.fromEntries(entries) as Record<string, string[]>;
  });
}

const matchSchema = matchOver(MATCH_KEYS, "for the default route");

const routeSchema = strictObject({
  match: matchSchema.optional(),
  role: z.string({ error: "expected a role name" }),
  severity: z
    .enum(SEVERITIES, { error: `expected one of: ${SEVERITIES.join(", ")}` })
    .default("normal"),
  sla: slaSchema.optional(),
  hours: hours.optional(),
});

const pipelineMatchSchema = matchOver(PIPELINE_MATCH_KEYS, "to take every delivery");

// Pipeline names end up in metric labels, job ids and commands: keep them plain.
const PIPELINE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const pipelineSchema = strictObject({
  name: z.string({ error: "expected a pipeline name" }).regex(PIPELINE_NAME_RE, {
    error: "pipeline names use letters, digits, '.', '_' and '-' (at most 64)",
  }),
  match: pipelineMatchSchema.optional(),
  budget: duration,
  freshness: duration,
  hours: hours.optional(),
  role: z.string({ error: "expected a role name" }).optional(),
});

const clientSchema = strictObject({
  sourceOfTruth: sourceOfTruthSchema,
  owner: z.string({ error: "expected a role name" }),
  tolerance: z.int({ error: "expected a whole number of units >= 0" }).min(0).default(0),
});

/** The raw routing document. Reference checks run even when other parts are invalid. */
export const routingFileSchema = strictObject({
  admins: userList.default([]),
  clients: z
    .record(z.string().min(1), clientSchema, { error: "expected a map of client -> settings" })
    .default({}),
  // Role names are checked in checkReferences: a record key schema would drop a badly named
  // role, and every route pointing at it would then report a second, misleading problem.
  roles: z.record(z.string(), roleSchema, { error: "expected a map of role name -> role" }),
  routes: z.array(routeSchema, { error: "expected a list of routes" }),
  pipelines: z.array(pipelineSchema, { error: "expected a list of pipelines" }).default([]),
  reassign: z
    .record(z.string().min(1), z.string({ error: "expected a role name" }), {
      error: "expected a map of removed role -> new role",
    })
    .default({}),
  retryQueues: z
    .array(
      z
        .string({ error: "expected a queue name or glob" })
        .min(1, "must not be empty")
        .refine((name) => !name.includes(":"), "BullMQ queue names cannot contain ':'"),
      { error: 'expected a list of queue names or globs like ["storefront-sync", "feed-*"]' },
    )
    .default([]),
  producers: producersSchema,
}).superRefine(checkReferences, { when: () => true });

export type RoutingFile = z.output<typeof routingFileSchema>;
