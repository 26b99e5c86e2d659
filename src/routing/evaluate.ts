// Which role owns a failure: the first route whose match fits the event. Pure.

import { globMatches } from "./glob.js";
import type {
  PipelineConfig,
  RoleConfig,
  RouteRule,
  RoutingConfig,
  Severity,
  SlaPolicy,
} from "./routing-file.schema.js";

export { globMatches };

export interface RoutableEvent {
  client: string;
  sku: string;
  sourceSystem: string;
  targetSystem: string;
  operation: string;
  failureMode: string;
  vertical?: string;
  eventId?: string;
}

export interface RouteDecision {
  role: RoleConfig;
  rule: RouteRule;
  severity: Severity;
  sla: SlaPolicy;
}

/** First match wins; the default route (last, no match) takes everything else. */
export function evaluate(
  config: Pick<RoutingConfig, "routes" | "roles">,
  event: RoutableEvent,
): RouteDecision {
  const rule = config.routes.find((candidate) => ruleMatches(candidate, event));
  if (!rule)
    throw new Error("routing config has no default route: every config from load.ts has one");
  const role = config.roles[rule.role];
  if (!role)
    throw new Error(`route ${rule.index} names undefined role ${JSON.stringify(rule.role)}`);
  return { role, rule, severity: rule.severity, sla: rule.sla };
}

function ruleMatches(rule: Pick<RouteRule, "match">, event: object): boolean {
  if (rule.match === null) return true;
  return Object.entries(rule.match).every(([key, patterns]) => {
    // A field the event leaves out (vertical, eventId) is matched as "": only `*` takes it.
    const value = (event as unknown as Record<string, string | undefined>)[key] ?? "";
    return patterns.some((pattern) => globMatches(pattern, value));
  });
}

/** What a pipeline matches a delivery on; a field left out is "" (only `*` takes it). */
export interface PipelineKey {
  client: string;
  sourceSystem?: string;
  targetSystem: string;
}

/** The pipeline a delivery (or a failure) belongs to: first match wins; null when none does. */
export function pipelineFor(
  config: Pick<RoutingConfig, "pipelines">,
  key: PipelineKey,
): PipelineConfig | null {
  return config.pipelines.find((pipeline) => ruleMatches(pipeline, key)) ?? null;
}

/**
 * An event standing for a pipeline's deliveries, to find the role its failures route to. A
 * pattern stands for itself: a route pattern that matches the text "storefront.*" covers every
 * target the pipeline's "storefront.*" matches (see globCovers). Fields the pipeline leaves
 * open are "" and only a route's `*` takes them; failure mode and SKU are unknown.
 */
export function pipelineOwnerProbe(match: Record<string, string[]> | null): RoutableEvent {
  const first = (key: string) => match?.[key]?.[0] ?? "";
  return {
    client: first("client"),
    sku: "",
    sourceSystem: first("sourceSystem"),
    targetSystem: first("targetSystem"),
    operation: "stock_update",
    failureMode: "",
  };
}

/** True when every string `inner` matches is matched by `outer` too (sound, not complete). */
function globCovers(outer: string, inner: string): boolean {
  // Reading inner's `*` as a plain character that only outer's `*` can absorb: if outer matches
  // that text, then any expansion of inner's stars is absorbed by outer's stars as well.
  return globMatches(outer, inner);
}

const isUniversal = (pattern: string) => /^\*+$/.test(pattern);

/** Does `earlier` match every event `later` matches? */
function ruleCovers(earlier: RouteRule, later: RouteRule): boolean {
  if (earlier.match === null) return true;
  const laterMatch = later.match;
  return Object.entries(earlier.match).every(([key, outer]) => {
    if (outer.some(isUniversal)) return true;
    const inner = laterMatch?.[key];
    // `later` does not constrain this field, but `earlier` does: some event slips past.
    if (!inner) return false;
    return inner.every((pattern) => outer.some((candidate) => globCovers(candidate, pattern)));
  });
}

/**
 * Rules that can never match because an earlier rule matches everything they match. Reports only
 * sure cases (each pattern of the later rule is covered by a single pattern of the earlier one),
 * so a rule covered only by several earlier rules together is not reported.
 */
export function findShadowedRules(
  config: RoutingConfig,
): { index: number; line: number; shadowedBy: number }[] {
  const shadowed: { index: number; line: number; shadowedBy: number }[] = [];
  config.routes.forEach((rule, position) => {
    const earlier = config.routes
      .slice(0, position)
      .find((candidate) => ruleCovers(candidate, rule));
    if (earlier) shadowed.push({ index: rule.index, line: rule.line, shadowedBy: earlier.index });
  });
  return shadowed;
}
