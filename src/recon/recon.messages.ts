/**
 * Reconciliation's refusals as facts (codes and what they are about) and the sentences an owner
 * reads. Pure.
 */
import { assertNever } from "../platform/errors.js";
import { escapeMrkdwn, safeText } from "../platform/slack/mrkdwn.js";

export type SnapshotProblem =
  /** The part broke the snapshot contract (zod issues, path first). */
  | { code: "contract"; issues: string[] }
  /** The part's client, system or takenAt differ from the snapshot's first part. */
  | { code: "header_mismatch"; differs: string[] }
  /** The part's `parts` differs from the snapshot's. */
  | { code: "parts_mismatch"; expected: number; got: number }
  /** The snapshot names one SKU at one location on more than one line. */
  | {
      code: "duplicate_skus";
      count: number;
      listed: { sku: string; location: string; lines: number }[];
    }
  /** Not whole within RECON_WINDOW of its first part. */
  | { code: "expired"; partsReceived: number; parts: number; window: string }
  /** A part for a snapshot that was rejected or expired already. */
  | { code: "closed"; state: string };

export function snapshotProblemText(problem: SnapshotProblem): string {
  switch (problem.code) {
    case "contract":
      return `the part breaks the snapshot contract: ${problem.issues.join("; ")}`;
    case "header_mismatch":
      return `the part does not belong with the snapshot's first part (${problem.differs.join(", ")})`;
    case "parts_mismatch":
      return `the part says the snapshot has ${problem.got} parts; its first part said ${problem.expected}`;
    case "duplicate_skus": {
      const listed = problem.listed
        .map((d) => `${d.sku}${d.location ? ` @ ${d.location}` : ""} (${d.lines} lines)`)
        .join(", ");
      const more =
        problem.count > problem.listed.length
          ? `, and ${problem.count - problem.listed.length} more`
          : "";
      return `${problem.count} SKU${problem.count === 1 ? "" : "s"} appear on more than one line (same location): ${listed}${more}. Duplicates are refused, never summed: send one line per SKU and location`;
    }
    case "expired":
      return `only ${problem.partsReceived} of ${problem.parts} parts arrived within ${problem.window}; the snapshot expired and will not be compared`;
    case "closed":
      return `the snapshot was ${problem.state} already; this part was not loaded`;
    default:
      return assertNever(problem);
  }
}

/** The Slack notice of a refused snapshot or part, for the client's owner. */
export function snapshotRejectionMessage(input: {
  snapshotId: string | null;
  client: string | null;
  system: string | null;
  part: number | null;
  problem: SnapshotProblem;
}): { text: string; blocks: object[] } {
  const what = input.snapshotId
    ? `Snapshot \`${safeText(input.snapshotId, 200)}\`${input.system ? ` of ${escapeMrkdwn(input.system)}` : ""}${input.client ? ` for ${escapeMrkdwn(input.client)}` : ""}`
    : "A snapshot part";
  const part = input.part === null ? "" : ` (part ${input.part})`;
  const reason = safeText(snapshotProblemText(input.problem), 2500);
  const text = `:no_entry: ${what}${part} was refused: ${reason}`;
  return {
    text: text.slice(0, 3000),
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: text.slice(0, 3000) } },
      {
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            text: "No reconciliation compares a refused or incomplete snapshot. Send the snapshot again with a new snapshotId once it is fixed.",
          },
        ],
      },
    ],
  };
}
