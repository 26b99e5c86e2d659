import { describe, expect, it } from "vitest";
import { parseRoutingText } from "../../../src/routing/load.js";
import {
  checkProposalText,
  formatProposalIssue,
  MAX_ROUTING_TEXT,
} from "../../../src/routing/proposal-check.js";

const ACTIVE = parseRoutingText(`roles:
  ops:
    channel: C0OPS
    members: [U0ALICE]
  ads:
    channel: C0ADS
    members: [U0CAROL]
routes:
  - role: ops
`);

function errorsOf(text: string) {
  const result = checkProposalText(text, "proposal", ACTIVE);
  if (result.ok) throw new Error("expected the proposal to be refused");
  return result.errors.map(formatProposalIssue);
}

describe("checkProposalText", () => {
  it("refuses every kind of bad file at once, each problem on its line", () => {
    const text = [
      "roles:", // 1
      "  ops:", // 2
      "    channel: C0OPS", // 3
      "    members: [U0ALICE]", // 4
      "    sla: { claim: 15 minutes }", // 5  bad duration
      '    hours: "Mon-Fri 18:00-08:00"', // 6  hours crossing midnight
      "    colour: blue", // 7  unknown key
      "routes:", // 8
      "  - role: ops", // 9  default not last
      "  - match: { client: acme }", // 10
      "    role: nobody", // 11 undefined role
      "reassign:", // 12
      "  ads: ghost", // 13 reassign to an undefined role
    ].join("\n");
    const errors = errorsOf(text);
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^line 5: roles\.ops\.sla\.claim: invalid duration "15 minutes"/),
        expect.stringMatching(/^line 6: roles\.ops\.hours: invalid hours .*cannot cross midnight/),
        expect.stringMatching(/^line 7: roles\.ops\.colour: unknown key "colour"/),
        expect.stringMatching(/^line 9: routes\[0\]: the default route .* must be the last rule/),
        expect.stringMatching(/^line 11: routes\[1\]\.role: role "nobody" is not defined/),
        expect.stringMatching(/^line 13: reassign\.ads: role "ghost" is not defined/),
      ]),
    );
    expect(errors).toHaveLength(6);
  });

  it("refuses a file without a default route, and a second default", () => {
    expect(
      errorsOf(
        "roles:\n  ops: { channel: C0OPS, members: [U0A1] }\nroutes:\n  - match: { client: a }\n    role: ops\n",
      ),
    ).toEqual([expect.stringMatching(/^line 3: routes: no default route/)]);
    expect(
      errorsOf(
        "roles:\n  ops: { channel: C0OPS, members: [U0A1] }\nroutes:\n  - role: ops\n  - role: ops\n",
      ),
    ).toEqual([expect.stringMatching(/^line 4: routes\[0\]: more than one default route/)]);
  });

  it("refuses YAML syntax errors and duplicate keys with their lines", () => {
    expect(errorsOf("roles:\n  ops: [\nroutes: []\n")[0]).toMatch(/^line \d+: YAML syntax error/);
    expect(
      errorsOf(
        "roles:\n  ops: { channel: C0OPS, members: [U0A1] }\n  ops: { channel: C0X, members: [U0A1] }\nroutes:\n  - role: ops\n",
      ),
    ).toEqual([expect.stringMatching(/^line 3: duplicate key "ops"/)]);
  });

  it("refuses an empty text and an oversized one", () => {
    expect(errorsOf("  \n")).toEqual(["the routing text is empty"]);
    expect(errorsOf(`#${"x".repeat(MAX_ROUTING_TEXT)}`)[0]).toMatch(/the limit is/);
  });

  it("refuses a reassign entry for a role the file still defines", () => {
    const text =
      "roles:\n  ops: { channel: C0OPS, members: [U0A1] }\nroutes:\n  - role: ops\nreassign:\n  ops: ops\n";
    expect(errorsOf(text)).toEqual([
      expect.stringMatching(/^line 6: reassign\.ops: role "ops" is still defined/),
    ]);
  });

  it("accepts a good file, warning about rules that can never match", () => {
    const text = [
      "roles:",
      "  ops: { channel: C0OPS, members: [U0ALICE] }",
      "routes:",
      '  - match: { targetSystem: "ads.*" }',
      "    role: ops",
      '  - match: { targetSystem: "ads.google", failureMode: [throttled, network] }',
      "    role: ops",
      "  - role: ops",
    ].join("\n");
    const result = checkProposalText(text, "proposal", ACTIVE);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings.map(formatProposalIssue)).toEqual([
      "line 6: routes[1]: this rule can never match: rule 1 (line 4) above it matches everything it matches",
    ]);
  });

  it("warns about reassign entries naming roles the active version does not have", () => {
    const text =
      "roles:\n  ops: { channel: C0OPS, members: [U0A1] }\nroutes:\n  - role: ops\nreassign:\n  ads: ops\n  gone: ops\n";
    const result = checkProposalText(text, "proposal", ACTIVE);
    expect(result.ok && result.warnings.map(formatProposalIssue)).toEqual([
      'line 7: reassign.gone: role "gone" is not in the active version: this entry does nothing',
    ]);
  });
});
