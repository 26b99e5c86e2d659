// Reads routing.yml into a RoutingConfig, or fails with every problem at once, each pointing at
// its line. The file is the product's main configuration surface: its errors are UI.
import { readFile } from "node:fs/promises";
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
} from "yaml";
import type { z } from "zod";
import { evaluate, pipelineOwnerProbe } from "./evaluate.js";
import {
  DEFAULT_SLA,
  type PipelineConfig,
  type RoleConfig,
  type RouteRule,
  type RoutingConfig,
  type RoutingFile,
  routingFileSchema,
  type SlaPolicy,
} from "./routing-file.schema.js";

export interface RoutingFileIssue {
  /** 1-based line in the file; null when the problem concerns the whole file. */
  line: number | null;
  /** Where in the document, e.g. "routes[0].role"; "" for the whole file. */
  path: string;
  message: string;
}

export class RoutingFileError extends Error {
  override readonly name = "RoutingFileError";
  /** A code for callers that map errors to sentences. */
  readonly code = "routing_invalid" as const;
  readonly fileName: string;
  readonly issues: RoutingFileIssue[];

  constructor(fileName: string, issues: RoutingFileIssue[]) {
    super(issues.map((issue) => formatIssue(fileName, issue)).join("\n"));
    this.fileName = fileName;
    this.issues = issues;
  }
}

/** "routing.yml:12: routes[0].role: role "x" is not defined" */
export function formatIssue(fileName: string, issue: RoutingFileIssue): string {
  const where = issue.line === null ? fileName : `${fileName}:${issue.line}`;
  return issue.path === ""
    ? `${where}: ${issue.message}`
    : `${where}: ${issue.path}: ${issue.message}`;
}

export async function loadRoutingFile(path: string): Promise<RoutingConfig> {
  return parseRoutingText(await readRoutingText(path), path);
}

/** The file's text; a missing or unreadable file is a RoutingFileError like any other problem. */
export async function readRoutingText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === "ENOENT" ? "file not found" : `cannot read the file: ${(error as Error).message}`;
    throw new RoutingFileError(path, [{ line: null, path: "", message }]);
  }
}

export function parseRoutingText(text: string, fileName = "routing.yml"): RoutingConfig {
  const { doc, lineAt, issues: yamlIssues } = parseYaml(text);
  // Syntax errors and duplicate keys: the tree may be half-built, so stop here.
  if (yamlIssues.length > 0) throw new RoutingFileError(fileName, yamlIssues);

  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (error) {
    throw new RoutingFileError(fileName, [
      { line: null, path: "", message: (error as Error).message },
    ]);
  }
  const parsed = routingFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap((issue) => toFileIssues(issue, doc, lineAt));
    throw new RoutingFileError(fileName, sortByLine(issues));
  }
  return buildConfig(parsed.data, (list, index) => locate(doc, [list, index], lineAt).line ?? 0);
}

/**
 * YAML syntax errors and duplicate keys, with line numbers, without checking the routing format.
 * Empty when the text is well-formed YAML.
 */
export function checkYaml(text: string): RoutingFileIssue[] {
  return parseYaml(text).issues;
}

/**
 * Lines of places in a routing text, e.g. `["roles", "ads-ops", "members", 1]`, for problems
 * found after parsing (a channel Slack does not know). Null when the path is not in the text.
 */
export function lineLocator(text: string): (path: (string | number)[]) => number | null {
  const { doc, lineAt } = parseYaml(text);
  return (path) => locate(doc, path, lineAt).line;
}

function parseYaml(text: string) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  const issues: RoutingFileIssue[] = doc.errors.map((error) => {
    const start = error.pos[0];
    const message =
      error.code === "DUPLICATE_KEY"
        ? `duplicate key ${JSON.stringify(keyStartingAt(doc, start) ?? "?")}: each key may appear once per map`
        : `YAML syntax error: ${error.message}`;
    return { line: lineAt(start), path: "", message };
  });
  return { doc, lineAt, issues };
}

/** yaml reports a duplicate key by its first character only; find the whole key. */
function keyStartingAt(doc: Document, offset: number): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
        found = String(pair.key.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

type PathSegment = PropertyKey;

function toFileIssues(
  issue: z.core.$ZodIssue,
  doc: Document,
  lineAt: (offset: number) => number,
): RoutingFileIssue[] {
  const path = issue.path.filter((segment) => typeof segment !== "symbol");
  if (issue.code === "unrecognized_keys") {
    // One issue per key, on the key's own line.
    return issue.keys.map((key) => {
      const keyPath = [...path, key];
      return {
        line: locate(doc, keyPath, lineAt).line,
        path: formatPath(keyPath),
        message: `unknown key ${JSON.stringify(key)} (${issue.message})`,
      };
    });
  }
  const found = locate(doc, path, lineAt);
  let message = issue.message;
  if (issue.code === "invalid_key") message = issue.issues.map((inner) => inner.message).join("; ");
  if (issue.code === "invalid_type" && !found.exists) message = "is required";
  if (issue.code === "invalid_type" && path.length === 0) {
    message = found.exists
      ? "expected a map with roles and routes at the top level"
      : "the file is empty: it needs at least roles and routes";
  }
  return [{ line: found.line, path: formatPath(path), message }];
}

/**
 * The line for a document path: the scalar's own line, or the line of the key (or list item)
 * that introduces a collection. A path that stops early (a missing key) points at the deepest
 * part that exists.
 */
function locate(
  doc: Document,
  path: PathSegment[],
  lineAt: (offset: number) => number,
): { line: number | null; exists: boolean } {
  let node: unknown = doc.contents;
  let line: number | null = null;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) return { line, exists: false };
      const start = rangeStart(pair.key);
      if (start !== undefined) line = lineAt(start);
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item: unknown = node.items[segment];
      if (item === undefined) return { line, exists: false };
      node = item;
      const start = rangeStart(item);
      if (start !== undefined) line = lineAt(start);
    } else {
      return { line, exists: false };
    }
  }
  const start = isScalar(node) ? rangeStart(node) : undefined;
  if (start !== undefined) line = lineAt(start);
  return { line, exists: node !== null && node !== undefined };
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== "object" || node === null || !("range" in node)) return undefined;
  const range = (node as { range?: [number, number, number] | null }).range;
  return range?.[0];
}

/** routes[0].match.client, roles.fulfillment-ops.sla.claim, clients["acme corp"].owner */
export function formatPath(path: PathSegment[]): string {
  return path
    .map((segment, i) => {
      if (typeof segment === "number") return `[${segment}]`;
      const key = String(segment);
      if (!/^[A-Za-z0-9_-]+$/.test(key)) return `[${JSON.stringify(key)}]`;
      return i === 0 ? key : `.${key}`;
    })
    .join("");
}

function sortByLine(issues: RoutingFileIssue[]): RoutingFileIssue[] {
  // Stable: issues on the same line keep zod's order; whole-file issues come first.
  return issues
    .map((issue, order) => ({ issue, order }))
    .sort((a, b) => (a.issue.line ?? 0) - (b.issue.line ?? 0) || a.order - b.order)
    .map(({ issue }) => issue);
}

// ---- resolution ------------------------------------------------------------------------------

/** Later layers win; a layer's undefined fields inherit. */
function mergeSla(base: SlaPolicy, layer: Partial<SlaPolicy> | undefined): SlaPolicy {
  const merged = { ...base };
  for (const [key, value] of Object.entries(layer ?? {})) {
    if (value !== undefined) Object.assign(merged, { [key]: value });
  }
  return merged;
}

function buildConfig(
  file: RoutingFile,
  lineOf: (list: "routes" | "pipelines", index: number) => number,
): RoutingConfig {
  const roles: Record<string, RoleConfig> = {};
  for (const [name, role] of Object.entries(file.roles)) {
    roles[name] = {
      name,
      channel: role.channel,
      members: [...new Set(role.members)],
      ...(role.usergroup === undefined ? {} : { usergroup: role.usergroup }),
      managers: [...new Set(role.managers)],
      sla: mergeSla(DEFAULT_SLA, {
        ...role.sla,
        hours: role.hours,
        timezone: role.timezone,
      }),
    };
  }
  const routes = file.routes.map((route, index): RouteRule => {
    // The schema has checked that the role exists.
    const roleSla = (roles[route.role] as RoleConfig).sla;
    return {
      index,
      match: route.match ?? null,
      role: route.role,
      severity: route.severity,
      sla: mergeSla(roleSla, { ...route.sla, hours: route.hours }),
      line: lineOf("routes", index),
    };
  });
  const defaultRoute = routes[routes.length - 1] as RouteRule;
  const pipelines = file.pipelines.map((pipeline, index): PipelineConfig => {
    const match = pipeline.match ?? null;
    // Without a role of its own, the role its failures route to (by client, source and target).
    const role = pipeline.role ?? evaluate({ roles, routes }, pipelineOwnerProbe(match)).role.name;
    const owner = roles[role] as RoleConfig;
    return {
      index,
      name: pipeline.name,
      match,
      budgetMs: pipeline.budget,
      freshnessMs: pipeline.freshness,
      hours: pipeline.hours ?? null,
      timezone: owner.sla.timezone,
      role,
      roleDeclared: pipeline.role !== undefined,
      line: lineOf("pipelines", index),
    };
  });
  return {
    roles,
    routes,
    pipelines,
    clients: file.clients,
    admins: [...new Set(file.admins)],
    defaultRole: defaultRoute.role,
    reassign: file.reassign,
    retryQueues: [...new Set(file.retryQueues)],
    producers: file.producers,
  };
}

const parsed = new Map<string, RoutingConfig>();

/** A stored version's config. Versions are immutable, so parses are cached by content hash. */
export function configOf(row: {
  text: string;
  contentHash: string;
  version: number;
}): RoutingConfig {
  const hit = parsed.get(row.contentHash);
  if (hit) return hit;
  const config = parseRoutingText(row.text, `routing v${row.version}`);
  if (parsed.size >= 64) parsed.delete(parsed.keys().next().value as string);
  parsed.set(row.contentHash, config);
  return config;
}
