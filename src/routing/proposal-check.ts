// The checks a proposed routing text passes before anyone is asked to review it, as far as they
// need no Slack: the file format (every problem, with lines), then warnings (shadowed rules,
// reassign entries that do nothing). Pure.
import { createHash } from "node:crypto";
import { findShadowedRules } from "./evaluate.js";
import { lineLocator, parseRoutingText, RoutingFileError } from "./load.js";
import type { ProposalIssue } from "./review-policy.js";
import type { RoutingConfig } from "./routing-file.schema.js";

/** Larger than any sane routing file; keeps a pasted novel out of Postgres and Slack. */
export const MAX_ROUTING_TEXT = 200_000;

export type StaticCheck =
  | { ok: true; config: RoutingConfig; warnings: ProposalIssue[] }
  | { ok: false; errors: ProposalIssue[] };

export function contentHash(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

export function checkProposalText(
  text: string,
  fileName: string,
  active: RoutingConfig | null,
): StaticCheck {
  if (text.trim() === "") {
    return { ok: false, errors: [{ line: null, path: "", message: "the routing text is empty" }] };
  }
  if (text.length > MAX_ROUTING_TEXT) {
    return {
      ok: false,
      errors: [
        {
          line: null,
          path: "",
          message: `the routing text has ${text.length} characters; the limit is ${MAX_ROUTING_TEXT}`,
        },
      ],
    };
  }
  let config: RoutingConfig;
  try {
    config = parseRoutingText(text, fileName);
  } catch (error) {
    if (error instanceof RoutingFileError) return { ok: false, errors: error.issues };
    throw error;
  }
  const warnings: ProposalIssue[] = [];
  for (const shadowed of findShadowedRules(config)) {
    const by = config.routes[shadowed.shadowedBy];
    warnings.push({
      line: shadowed.line,
      path: `routes[${shadowed.index}]`,
      message: `this rule can never match: rule ${shadowed.shadowedBy + 1} (line ${by?.line ?? "?"}) above it matches everything it matches`,
    });
  }
  const lineOf = lineLocator(text);
  for (const removed of Object.keys(config.reassign)) {
    if (active && !active.roles[removed]) {
      warnings.push({
        line: lineOf(["reassign", removed]),
        path: `reassign.${removed}`,
        message: `role ${JSON.stringify(removed)} is not in the active version: this entry does nothing`,
      });
    }
  }
  return { ok: true, config, warnings };
}

/** "line 12: routes[0].role: role "x" is not defined" */
export function formatProposalIssue(issue: ProposalIssue): string {
  const where = issue.line === null ? "" : `line ${issue.line}: `;
  return issue.path ? `${where}${issue.path}: ${issue.message}` : `${where}${issue.message}`;
}
