/**
 * The Monday-morning checklist as a pure judgement of live facts: each line passes or needs
 * attention, says why in a sentence, and names the cards to open.
 */
import { formatLatency } from "../deliveries/pipelines.view.js";
import { formatDuration } from "../platform/duration.js";
import type { RoutingConfig } from "../routing/routing-file.schema.js";
import {
  type ChecklistLink,
  cardLinks,
  MAX_NAMED,
  named,
  perRole,
  plural,
} from "./checklist-words.js";
import type { CardRef } from "./figures.js";
import { type LiveException, pastSla, unclaimedPastWindow } from "./sla-state.js";

export interface RoutingChange {
  version: number;
  decidedBy: string | null;
  breakGlass: boolean;
  activatedAt: Date;
}

export interface ChecklistFacts {
  /** Clients with an exception opened in the last 30 days. */
  clientsSeen: string[];
  /** Every unresolved exception. */
  live: LiveException[];
  /** Rejected events of the last 24 h nobody has reviewed. */
  unreviewedRejections: {
    count: number;
    examples: { id: number; channel: string | null; cardTs: string | null }[];
  };
  /** Routing versions activated in the last 7 days. */
  routingChanges: RoutingChange[];
  /** Resolved by hand in the last 7 days without a root cause. */
  manualWithoutRootCause: { count: number; examples: CardRef[] };
  /** Every declared pipeline's freshness over the last 24 h (src/deliveries). */
  pipelines: PipelineFreshness[];
  /** Delivery QA of the last 24 h. */
  qa: { duplicates: number; rejectedDeliveries: number };
  /** Reconciliation runs of the last 24 h per client: compared ones and those that were skipped. */
  reconRuns: { client: string; compared: number; skipped: number }[];
}

export interface PipelineFreshness {
  name: string;
  /** No successful delivery within its freshness. */
  stale: boolean;
  /** Time-to-sync P95 over its budget. */
  overBudget: boolean;
  p95Ms: number | null;
  budgetMs: number;
  deliveries: number;
}

/** The failure modes the latency gates open exceptions with (src/gates). */
const GATE_MODES = new Set(["latency", "stale", "over_budget"]);
const PIPELINE_SKU = "pipeline:";

export type LineStatus = "pass" | "attention";

export type { ChecklistLink };

export interface ChecklistLine {
  key:
    | "clients"
    | "claims"
    | "freshness"
    | "sla"
    | "qa"
    | "rejections"
    | "routing"
    | "root-causes"
    | "reconciliation"
    | "drift";
  title: string;
  status: LineStatus;
  detail: string;
  links: ChecklistLink[];
}

export function evaluateChecklist(
  facts: ChecklistFacts,
  config: RoutingConfig,
  now: Date,
): ChecklistLine[] {
  return [
    clientsLine(facts, config),
    claimsLine(facts, config, now),
    freshnessLine(facts),
    slaLine(facts, config, now),
    qaLine(facts),
    rejectionsLine(facts),
    routingLine(facts),
    rootCauseLine(facts),
    reconciliationLine(facts, config),
    driftLine(facts),
  ];
}

function reconciliationLine(facts: ChecklistFacts, config: RoutingConfig): ChecklistLine {
  const title = "Reconciliation ran in the last 24 h for every client with a source of truth";
  const clients = Object.keys(config.clients).sort();
  const runs = new Map(facts.reconRuns.map((row) => [row.client, row]));
  const missing = clients.filter((client) => (runs.get(client)?.compared ?? 0) === 0);
  if (missing.length === 0) {
    return {
      key: "reconciliation",
      title,
      status: "pass",
      detail:
        clients.length === 0
          ? "No client declares a source of truth."
          : `${plural(clients.length, "client")} reconciled.`,
      links: [],
    };
  }
  const skipped = missing.filter((client) => (runs.get(client)?.skipped ?? 0) > 0);
  return {
    key: "reconciliation",
    title,
    status: "attention",
    detail: `Not compared: ${named(missing)}${skipped.length ? ` (${named(skipped)} had no complete pair of snapshots)` : ""}. See \`/inventory recon <client>\`.`,
    links: [],
  };
}

function driftLine(facts: ChecklistFacts): ChecklistLine {
  const title = "No open drift exception without an owner";
  const unowned = facts.live.filter((row) => row.failureMode === "drift" && !row.claimedBy);
  if (unowned.length === 0) {
    return {
      key: "drift",
      title,
      status: "pass",
      detail: "Every open drift exception is claimed.",
      links: [],
    };
  }
  return {
    key: "drift",
    title,
    status: "attention",
    detail: `${plural(unowned.length, "drift exception")} nobody has claimed (${perRole(unowned)}).`,
    links: cardLinks(unowned),
  };
}

function clientsLine(facts: ChecklistFacts, config: RoutingConfig): ChecklistLine {
  const title = "Source of truth and owner declared for every client seen in the last 30 days";
  const missing = facts.clientsSeen.filter((client) => !config.clients[client]).sort();
  if (missing.length === 0) {
    const seen = facts.clientsSeen.length;
    return {
      key: "clients",
      title,
      status: "pass",
      detail: seen === 0 ? "No clients seen." : `${plural(seen, "client")} seen, all declared.`,
      links: [],
    };
  }
  return {
    key: "clients",
    title,
    status: "attention",
    detail: `Not declared: ${named(missing)}. Add them under \`clients:\` in the routing file.`,
    links: [],
  };
}

function claimsLine(facts: ChecklistFacts, config: RoutingConfig, now: Date): ChecklistLine {
  const title = "No exception unclaimed past its claim window";
  const late = facts.live.filter((row) => unclaimedPastWindow(row, config, now));
  if (late.length === 0) {
    return {
      key: "claims",
      title,
      status: "pass",
      detail: "Every open card was claimed in time.",
      links: [],
    };
  }
  return {
    key: "claims",
    title,
    status: "attention",
    detail: `${plural(late.length, "exception")} waiting past the claim window (${perRole(late)}).`,
    links: cardLinks(late),
  };
}

function slaLine(facts: ChecklistFacts, config: RoutingConfig, now: Date): ChecklistLine {
  const title = "No role past its SLA";
  const late = facts.live.filter((row) => pastSla(row, config, now));
  if (late.length === 0) {
    return {
      key: "sla",
      title,
      status: "pass",
      detail: "Every role is within its SLA.",
      links: [],
    };
  }
  return {
    key: "sla",
    title,
    status: "attention",
    detail: `Past the resolve deadline: ${perRole(late)}.`,
    links: cardLinks(late),
  };
}

/**
 * How fresh stock is, beside how fast people answer (the SLA line): pipelines stale or over
 * their time-to-sync budget, by the figures of the last 24 h and the gates' open exceptions.
 */
function freshnessLine(facts: ChecklistFacts): ChecklistLine {
  const title = "No pipeline beyond its latency budget or stale";
  const gates = facts.live.filter((row) => GATE_MODES.has(row.failureMode));
  const gated = (mode: string) =>
    new Set(
      gates
        .filter((row) => row.failureMode === mode && row.sku.startsWith(PIPELINE_SKU))
        .map((row) => row.sku.slice(PIPELINE_SKU.length)),
    );
  const staleGated = gated("stale");
  const overGated = gated("over_budget");
  const stale = facts.pipelines.filter((p) => p.stale || staleGated.has(p.name));
  const over = facts.pipelines.filter((p) => p.overBudget || overGated.has(p.name));
  const late = gates.filter((row) => row.failureMode === "latency");
  if (stale.length === 0 && over.length === 0 && late.length === 0) {
    const n = facts.pipelines.length;
    return {
      key: "freshness",
      title,
      status: "pass",
      detail:
        n === 0
          ? "No pipelines declared: add `pipelines:` to the routing file to check freshness."
          : `${plural(n, "pipeline")} fresh and within budget over the last 24 h.`,
      links: [],
    };
  }
  const parts: string[] = [];
  if (stale.length > 0) parts.push(`Stale: ${named(stale.map((p) => p.name))}.`);
  if (over.length > 0) {
    const shown = over.slice(0, MAX_NAMED).map((p) => {
      const p95 =
        p.p95Ms === null
          ? ""
          : ` (P95 ${formatLatency(p.p95Ms)}, budget ${formatDuration(p.budgetMs)})`;
      return `${named([p.name])}${p95}`;
    });
    parts.push(
      `Over budget: ${shown.join(", ")}${over.length > MAX_NAMED ? ` and ${over.length - MAX_NAMED} more` : ""}.`,
    );
  }
  if (late.length > 0)
    parts.push(
      `${plural(late.length, "late delivery", "late deliveries")} open (${perRole(late)}).`,
    );
  return {
    key: "freshness",
    title,
    status: "attention",
    detail: `${parts.join(" ")} See \`/inventory pipelines\`.`,
    links: cardLinks(gates),
  };
}

/** The article's QA checks: bad events reviewed, duplicates suppressed, every pipeline heard from. */
function qaLine(facts: ChecklistFacts): ChecklistLine {
  const title =
    "QA checks ran: rejected events reviewed, duplicates suppressed, every pipeline reporting";
  const unreviewed = facts.unreviewedRejections.count;
  const silent = facts.pipelines.filter((p) => p.deliveries === 0).map((p) => p.name);
  const parts = [
    unreviewed === 0
      ? "Rejected events reviewed."
      : `${plural(unreviewed, "rejected event")} not reviewed.`,
    `${plural(facts.qa.rejectedDeliveries, "bad delivery event")} grouped and ${plural(facts.qa.duplicates, "duplicate delivery", "duplicate deliveries")} suppressed in 24 h.`,
    facts.pipelines.length === 0
      ? "No pipelines declared."
      : silent.length === 0
        ? `All ${plural(facts.pipelines.length, "pipeline")} reported deliveries in 24 h.`
        : `No deliveries in 24 h from ${named(silent)}.`,
  ];
  return {
    key: "qa",
    title,
    status: unreviewed > 0 || silent.length > 0 ? "attention" : "pass",
    detail: parts.join(" "),
    links: [],
  };
}

function rejectionsLine(facts: ChecklistFacts): ChecklistLine {
  const title = "Rejected events of the last 24 h reviewed";
  const { count, examples } = facts.unreviewedRejections;
  if (count === 0) {
    return {
      key: "rejections",
      title,
      status: "pass",
      detail: "Nothing waits for review.",
      links: [],
    };
  }
  return {
    key: "rejections",
    title,
    status: "attention",
    detail: `${plural(count, "rejected event")} not reviewed: open the card and mark it reviewed.`,
    links: examples.flatMap((row) =>
      row.channel && row.cardTs
        ? [{ label: `rejection #${row.id}`, channel: row.channel, ts: row.cardTs }]
        : [],
    ),
  };
}

function routingLine(facts: ChecklistFacts): ChecklistLine {
  const title = "Every routing change of the last 7 days approved";
  const changes = facts.routingChanges;
  const unapproved = changes.filter((change) => change.breakGlass || !change.decidedBy);
  if (unapproved.length === 0) {
    return {
      key: "routing",
      title,
      status: "pass",
      detail:
        changes.length === 0
          ? "No routing changes."
          : `${plural(changes.length, "change")}, all approved.`,
      links: [],
    };
  }
  const reasons = unapproved.map((change) =>
    change.breakGlass
      ? `v${change.version} went live by break-glass`
      : `v${change.version} has no recorded approval`,
  );
  return {
    key: "routing",
    title,
    status: "attention",
    detail: `${reasons.slice(0, MAX_NAMED).join("; ")}${reasons.length > MAX_NAMED ? `; +${reasons.length - MAX_NAMED} more` : ""}. Review them with \`/inventory routes\`.`,
    links: [],
  };
}

function rootCauseLine(facts: ChecklistFacts): ChecklistLine {
  const title = "Every manual hand-off of the last 7 days has a root cause";
  const { count, examples } = facts.manualWithoutRootCause;
  if (count === 0) {
    return {
      key: "root-causes",
      title,
      status: "pass",
      detail: "Every hand-resolved exception says why it failed.",
      links: [],
    };
  }
  return {
    key: "root-causes",
    title,
    status: "attention",
    detail: `${plural(count, "exception")} resolved by hand without a root cause.`,
    links: cardLinks(examples),
  };
}
