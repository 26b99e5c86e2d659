// Which system's stock figure wins for a client and a target system (the routing file's
// `clients.<name>.sourceOfTruth`). Pure.
import { globMatches } from "./evaluate.js";
import type { RoutingConfig, SourceOfTruth } from "./routing-file.schema.js";

/** The source of truth for `targetSystem`: first matching glob as written, then `default`. */
export function sourceOfTruthFor(truth: SourceOfTruth, targetSystem: string): string | null {
  const rule = truth.byTarget.find((candidate) => globMatches(candidate.target, targetSystem));
  return rule ? rule.system : truth.default;
}

/** For a client by name; null when the client is not declared or has no truth for the target. */
export function clientSourceOfTruth(
  config: Pick<RoutingConfig, "clients">,
  client: string,
  targetSystem: string,
): string | null {
  const settings = config.clients[client];
  return settings ? sourceOfTruthFor(settings.sourceOfTruth, targetSystem) : null;
}

/** Every system a client names as a source of truth (the default and each glob's). */
export function truthSystems(truth: SourceOfTruth): string[] {
  const all = [truth.default, ...truth.byTarget.map((rule) => rule.system)];
  return [...new Set(all.filter((system): system is string => system !== null))];
}

/** As a reviewer reads it: `erp.netsuite` or `{ default: erp.netsuite, ads.*: pim.akeneo }`. */
export function formatSourceOfTruth(truth: SourceOfTruth): string {
  if (truth.byTarget.length === 0) return truth.default ?? "none";
  const entries = [
    ...(truth.default === null ? [] : [`default: ${truth.default}`]),
    ...truth.byTarget.map((rule) => `${rule.target}: ${rule.system}`),
  ];
  return `{ ${entries.join(", ")} }`;
}

/** Reviewer lines for a change of one client's source of truth, one per target changed. */
export function sourceOfTruthChanges(before: SourceOfTruth, after: SourceOfTruth): string[] {
  const asMap = (truth: SourceOfTruth) =>
    new Map<string, string>([
      ...(truth.default === null ? [] : [["default", truth.default] as [string, string]]),
      ...truth.byTarget.map((rule): [string, string] => [rule.target, rule.system]),
    ]);
  const a = asMap(before);
  const b = asMap(after);
  const lines: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const old = a.get(key);
    const next = b.get(key);
    if (old === next) continue;
    const what = key === "default" ? "source of truth" : `source of truth for ${key}`;
    lines.push(`${what} ${old ?? "(none)"} → ${next ?? "(none)"}`);
  }
  // Same systems, another order of globs: first match wins, so the order is a change too.
  const order = (truth: SourceOfTruth) => truth.byTarget.map((rule) => rule.target).join(",");
  if (lines.length === 0 && order(before) !== order(after))
    lines.push(`source of truth globs reordered: ${formatSourceOfTruth(after)}`);
  return lines;
}
