// What a proposed routing version changes against the active one, in terms a reviewer reads:
// roles added and removed, members, channels, SLA values, rules added, removed, changed and
// reordered, admins and client owners. Pure.
import { formatDuration } from "../platform/duration.js";
import { describeProducerRule } from "./producers.js";
import type {
  PipelineConfig,
  RoleConfig,
  RouteRule,
  RoutingConfig,
  SlaPolicy,
} from "./routing-file.schema.js";
import { formatSourceOfTruth, sourceOfTruthChanges } from "./source-of-truth.js";

export interface RuleRef {
  /** Position in its version (0-based) and the line it was written on. */
  index: number;
  line: number;
  summary: string;
  role: string;
}

export interface RuleChange {
  before: RuleRef;
  after: RuleRef;
  changes: string[];
}

export interface RoleChange {
  role: string;
  changes: string[];
}

export interface RoutingDiff {
  rolesAdded: string[];
  rolesRemoved: string[];
  rolesChanged: RoleChange[];
  rulesAdded: RuleRef[];
  rulesRemoved: RuleRef[];
  rulesChanged: RuleChange[];
  /** Rules kept as they were but now checked in another order (first match wins). */
  rulesReordered: { before: RuleRef; after: RuleRef }[];
  adminsAdded: string[];
  adminsRemoved: string[];
  /** Retry targets allowed (`retryQueues`): what a Retry click may enqueue onto. */
  retryQueuesAdded: string[];
  retryQueuesRemoved: string[];
  clients: string[];
  /** Pipelines added, removed or changed, as reviewer lines ("+ pipeline a: …"). */
  pipelines: string[];
  /** Producer rules (`producers:`) added and removed, as reviewer lines. */
  producersAdded?: string[];
  producersRemoved?: string[];
  /** Roles whose definition or rules change: their managers may approve. */
  affectedRoles: string[];
}

export function diffRouting(before: RoutingConfig, after: RoutingConfig): RoutingDiff {
  const affected = new Set<string>();
  const rolesAdded = Object.keys(after.roles).filter((name) => !before.roles[name]);
  const rolesRemoved = Object.keys(before.roles).filter((name) => !after.roles[name]);
  const rolesChanged: RoleChange[] = [];
  for (const [name, role] of Object.entries(after.roles)) {
    const old = before.roles[name];
    if (!old) continue;
    const changes = roleChanges(old, role);
    if (changes.length > 0) rolesChanged.push({ role: name, changes });
  }
  for (const name of [...rolesAdded, ...rolesRemoved, ...rolesChanged.map((c) => c.role)])
    affected.add(name);

  const rules = diffRules(before, after);
  for (const ref of [...rules.rulesAdded, ...rules.rulesRemoved]) affected.add(ref.role);
  for (const change of rules.rulesChanged) affected.add(change.before.role).add(change.after.role);
  for (const move of rules.rulesReordered) affected.add(move.after.role);

  const clients: string[] = [];
  const clientNames = new Set([...Object.keys(before.clients), ...Object.keys(after.clients)]);
  for (const client of [...clientNames].sort()) {
    const old = before.clients[client];
    const next = after.clients[client];
    if (!old && next)
      clients.push(
        `client ${client} added: owner ${next.owner}, source of truth ${formatSourceOfTruth(next.sourceOfTruth)}`,
      );
    else if (old && !next) clients.push(`client ${client} removed (owner was ${old.owner})`);
    else if (old && next) {
      if (old.owner !== next.owner)
        clients.push(`client ${client}: owner ${old.owner} → ${next.owner}`);
      for (const line of sourceOfTruthChanges(old.sourceOfTruth, next.sourceOfTruth))
        clients.push(`client ${client}: ${line}`);
      if (old.tolerance !== next.tolerance)
        clients.push(
          `client ${client}: reconciliation tolerance ${old.tolerance} → ${next.tolerance}`,
        );
    }
    if (old?.owner !== next?.owner) {
      if (old) affected.add(old.owner);
      if (next) affected.add(next.owner);
    }
  }

  const pipelines = diffPipelines(before.pipelines, after.pipelines, affected);

  // Rules compared as written, in order: a reordered rule is one removed and one added.
  const beforeProducers = (before.producers ?? []).map(describeProducerRule);
  const afterProducers = (after.producers ?? []).map(describeProducerRule);
  const producersAdded = afterProducers.filter((line, i) => beforeProducers[i] !== line);
  const producersRemoved = beforeProducers.filter((line, i) => afterProducers[i] !== line);
  for (const rule of [...(before.producers ?? []), ...(after.producers ?? [])]) {
    const line = describeProducerRule(rule);
    if (producersAdded.includes(line) || producersRemoved.includes(line)) affected.add(rule.role);
  }

  return {
    rolesAdded,
    rolesRemoved,
    rolesChanged,
    ...rules,
    pipelines,
    adminsAdded: after.admins.filter((id) => !before.admins.includes(id)),
    adminsRemoved: before.admins.filter((id) => !after.admins.includes(id)),
    retryQueuesAdded: after.retryQueues.filter((q) => !before.retryQueues.includes(q)),
    retryQueuesRemoved: before.retryQueues.filter((q) => !after.retryQueues.includes(q)),
    clients,
    producersAdded,
    producersRemoved,
    affectedRoles: [...affected].sort(),
  };
}

export function isEmptyDiff(diff: RoutingDiff): boolean {
  return (
    diff.rolesAdded.length +
      diff.rolesRemoved.length +
      diff.rolesChanged.length +
      diff.rulesAdded.length +
      diff.rulesRemoved.length +
      diff.rulesChanged.length +
      diff.rulesReordered.length +
      diff.adminsAdded.length +
      diff.adminsRemoved.length +
      diff.retryQueuesAdded.length +
      diff.retryQueuesRemoved.length +
      diff.clients.length +
      diff.pipelines.length +
      (diff.producersAdded?.length ?? 0) +
      (diff.producersRemoved?.length ?? 0) ===
    0
  );
}

function roleChanges(old: RoleConfig, next: RoleConfig): string[] {
  const changes: string[] = [];
  if (old.channel !== next.channel) changes.push(`channel ${old.channel} → ${next.channel}`);
  const people = (what: string, a: string[], b: string[]) => {
    const added = b.filter((id) => !a.includes(id));
    const removed = a.filter((id) => !b.includes(id));
    if (added.length) changes.push(`${what} added: ${added.join(", ")}`);
    if (removed.length) changes.push(`${what} removed: ${removed.join(", ")}`);
  };
  people("members", old.members, next.members);
  people("managers", old.managers, next.managers);
  if (old.usergroup !== next.usergroup)
    changes.push(`user group ${old.usergroup ?? "none"} → ${next.usergroup ?? "none"}`);
  changes.push(...slaChanges(old.sla, next.sla, "sla."));
  return changes;
}

/** SLA values as a reviewer reads them. */
export function slaValues(sla: SlaPolicy): Record<string, string> {
  const percent = (fraction: number) => `${Math.round(fraction * 100)}%`;
  return {
    claim: formatDuration(sla.claimMs),
    resolve: formatDuration(sla.resolveMs),
    nudgeAt: `[${sla.nudgeAt.map(percent).join(", ")}]`,
    remindClaimerAt: sla.remindClaimerAt === null ? "off" : percent(sla.remindClaimerAt),
    repeat: formatDuration(sla.repeatMs),
    maxEscalations: String(sla.maxEscalations),
    hours: sla.hours === null ? "always" : sla.hours.text,
    timezone: sla.timezone,
  };
}

function slaChanges(old: SlaPolicy, next: SlaPolicy, prefix: string): string[] {
  const a = slaValues(old);
  const b = slaValues(next);
  return Object.keys(a)
    .filter((key) => a[key] !== b[key])
    .map((key) => `${prefix}${key} ${a[key]} → ${b[key]}`);
}

/** The SLA fields a rule sets on top of its role's, so a role's SLA change is not repeated per rule. */
function ruleOverride(rule: RouteRule, config: RoutingConfig): Record<string, string> {
  const own = slaValues(rule.sla);
  const role = config.roles[rule.role];
  const inherited = role ? slaValues(role.sla) : {};
  return Object.fromEntries(Object.entries(own).filter(([key, value]) => inherited[key] !== value));
}

export function ruleSummary(rule: RouteRule): string {
  if (rule.match === null) return `default → ${rule.role}`;
  const match = Object.entries(rule.match)
    .map(([key, patterns]) => `${key}=${patterns.join("|")}`)
    .join(" ");
  return `${match} → ${rule.role}`;
}

const matchKey = (rule: RouteRule) =>
  rule.match === null
    ? "default"
    : JSON.stringify(
        Object.entries(rule.match)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, patterns]) => [key, [...patterns].sort()]),
      );

function diffRules(before: RoutingConfig, after: RoutingConfig) {
  const ref = (rule: RouteRule): RuleRef => ({
    index: rule.index,
    line: rule.line,
    summary: ruleSummary(rule),
    role: rule.role,
  });
  // Rules are identified by what they match; a repeated match pairs up in order.
  const keyed = (config: RoutingConfig) => {
    const seen = new Map<string, number>();
    return config.routes.map((rule) => {
      const key = matchKey(rule);
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      return { key: `${key}#${n}`, rule };
    });
  };
  const old = keyed(before);
  const next = keyed(after);
  const oldByKey = new Map(old.map((entry) => [entry.key, entry.rule]));
  const nextKeys = new Set(next.map((entry) => entry.key));

  const rulesAdded = next.filter((e) => !oldByKey.has(e.key)).map((e) => ref(e.rule));
  const rulesRemoved = old.filter((e) => !nextKeys.has(e.key)).map((e) => ref(e.rule));
  const rulesChanged: RuleChange[] = [];
  for (const { key, rule } of next) {
    const was = oldByKey.get(key);
    if (!was) continue;
    const changes: string[] = [];
    if (was.role !== rule.role) changes.push(`role ${was.role} → ${rule.role}`);
    if (was.severity !== rule.severity) changes.push(`severity ${was.severity} → ${rule.severity}`);
    const a = ruleOverride(was, before);
    const b = ruleOverride(rule, after);
    for (const field of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[field] !== b[field])
        changes.push(`sla.${field} ${a[field] ?? "(role's)"} → ${b[field] ?? "(role's)"}`);
    }
    if (changes.length) rulesChanged.push({ before: ref(was), after: ref(rule), changes });
  }

  // Kept rules whose relative order changed: those outside a longest common subsequence.
  const common = old.map((e) => e.key).filter((key) => nextKeys.has(key));
  const commonNext = next.map((e) => e.key).filter((key) => oldByKey.has(key));
  const stay = longestCommonSubsequence(common, commonNext);
  const rulesReordered = next
    .filter((e) => oldByKey.has(e.key) && !stay.has(e.key))
    .map((e) => ({ before: ref(oldByKey.get(e.key) as RouteRule), after: ref(e.rule) }));
  return { rulesAdded, rulesRemoved, rulesChanged, rulesReordered };
}

function longestCommonSubsequence(a: string[], b: string[]): Set<string> {
  const table = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  const at = (i: number, j: number) => table[i]?.[j] ?? 0;
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      (table[i] as number[])[j] =
        a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  const kept = new Set<string>();
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      kept.add(a[i] as string);
      i++;
      j++;
    } else if (at(i + 1, j) >= at(i, j + 1)) i++;
    else j++;
  }
  return kept;
}

/** The diff as short plain lines (escaping is the renderer's job). */
export function diffLines(diff: RoutingDiff): string[] {
  const lines: string[] = [];
  for (const role of diff.rolesAdded) lines.push(`+ role ${role}`);
  for (const role of diff.rolesRemoved) lines.push(`− role ${role}`);
  for (const { role, changes } of diff.rolesChanged)
    for (const change of changes) lines.push(`~ role ${role}: ${change}`);
  for (const rule of diff.rulesAdded)
    lines.push(`+ rule ${rule.index + 1} (line ${rule.line}): ${rule.summary}`);
  for (const rule of diff.rulesRemoved)
    lines.push(`− rule ${rule.index + 1} (was line ${rule.line}): ${rule.summary}`);
  for (const { after, changes } of diff.rulesChanged)
    lines.push(
      `~ rule ${after.index + 1} (line ${after.line}) ${after.summary}: ${changes.join("; ")}`,
    );
  for (const { before, after } of diff.rulesReordered)
    lines.push(`↕ rule moved ${before.index + 1} → ${after.index + 1}: ${after.summary}`);
  if (diff.adminsAdded.length) lines.push(`+ admins: ${diff.adminsAdded.join(", ")}`);
  if (diff.adminsRemoved.length) lines.push(`− admins: ${diff.adminsRemoved.join(", ")}`);
  if (diff.retryQueuesAdded.length)
    lines.push(`+ retry queues: ${diff.retryQueuesAdded.join(", ")}`);
  if (diff.retryQueuesRemoved.length)
    lines.push(`− retry queues: ${diff.retryQueuesRemoved.join(", ")}`);
  for (const line of diff.clients) lines.push(`~ ${line}`);
  // Snapshots stored before `producers:` existed have neither list.
  for (const line of diff.producersAdded ?? []) lines.push(`+ producer ${line}`);
  for (const line of diff.producersRemoved ?? []) lines.push(`− producer ${line}`);
  lines.push(...diff.pipelines);
  return lines;
}

/** A pipeline as a reviewer reads it: match, budget, freshness, hours and owner. */
export function pipelineValues(pipeline: PipelineConfig): Record<string, string> {
  return {
    match:
      pipeline.match === null
        ? "every delivery"
        : Object.entries(pipeline.match)
            .map(([key, patterns]) => `${key}=${patterns.join("|")}`)
            .join(" "),
    budget: formatDuration(pipeline.budgetMs),
    freshness: formatDuration(pipeline.freshnessMs),
    hours: pipeline.hours === null ? "always" : pipeline.hours.text,
    role: pipeline.roleDeclared ? pipeline.role : `${pipeline.role} (from routes)`,
  };
}

function pipelineSummary(pipeline: PipelineConfig): string {
  const values = pipelineValues(pipeline);
  return `${values.match}, budget ${values.budget}, freshness ${values.freshness}, hours ${values.hours} → ${values.role}`;
}

/** Pipelines are identified by name; their order matters too (first match wins). */
function diffPipelines(
  before: PipelineConfig[],
  after: PipelineConfig[],
  affected: Set<string>,
): string[] {
  const lines: string[] = [];
  const old = new Map(before.map((pipeline) => [pipeline.name, pipeline]));
  const next = new Map(after.map((pipeline) => [pipeline.name, pipeline]));
  for (const pipeline of after) {
    const was = old.get(pipeline.name);
    if (!was) {
      lines.push(
        `+ pipeline ${pipeline.name} (line ${pipeline.line}): ${pipelineSummary(pipeline)}`,
      );
      affected.add(pipeline.role);
      continue;
    }
    const a = pipelineValues(was);
    const b = pipelineValues(pipeline);
    const changes = Object.keys(b)
      .filter((key) => a[key] !== b[key])
      .map((key) => `${key} ${a[key]} → ${b[key]}`);
    if (changes.length) {
      lines.push(`~ pipeline ${pipeline.name} (line ${pipeline.line}): ${changes.join("; ")}`);
      affected.add(was.role).add(pipeline.role);
    }
  }
  for (const pipeline of before) {
    if (next.has(pipeline.name)) continue;
    lines.push(
      `− pipeline ${pipeline.name} (was line ${pipeline.line}): ${pipelineSummary(pipeline)}`,
    );
    affected.add(pipeline.role);
  }
  // Kept pipelines checked in another order: a delivery may now belong to another one.
  const keptBefore = before.filter((p) => next.has(p.name)).map((p) => p.name);
  const keptAfter = after.filter((p) => old.has(p.name)).map((p) => p.name);
  const stay = longestCommonSubsequence(keptBefore, keptAfter);
  for (const name of keptAfter) {
    if (stay.has(name)) continue;
    const from = (old.get(name) as PipelineConfig).index + 1;
    const to = (next.get(name) as PipelineConfig).index + 1;
    lines.push(`↕ pipeline moved ${from} → ${to}: ${name}`);
  }
  return lines;
}
