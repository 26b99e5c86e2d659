import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/platform/logger.js";
import { approveProposal } from "../../src/routing/decisions.service.js";
import { RoutingFileError } from "../../src/routing/load.js";
import { startRoutingSource } from "../../src/routing/routing-source.js";
import { proposeChange } from "../../src/routing/versions.service.js";
import { type Syncdesk, startSyncdesk } from "../../src/syncdesk.js";
import { eventually, failureEvent } from "../support/harness.js";
import {
  ADS_TO_FULFILLMENT,
  APPROVALS,
  edit,
  GOVERNED_TEXT,
  routingAudit,
  startGovernedHarness,
  version,
  versions,
} from "../support/routing-helpers.js";
import { useHarness } from "../support/use-harness.js";

let dir: string;
const h = useHarness(() => startGovernedHarness());
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "syncdesk-routing-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const propose = async (text: string, author = "U0ALICE") => {
  const result = await proposeChange(h.bot.deps, { text, author, reason: "test", via: "cli" });
  if (!result.ok) throw new Error(`not proposed: ${JSON.stringify(result)}`);
  return result.row;
};

/** Another replica started from a different routing file (a deploy that changed it). */
async function deployWith(text: string, name: string): Promise<Syncdesk> {
  const file = join(dir, name);
  await writeFile(file, text);
  return startSyncdesk(
    { ...h.env, ROUTING_FILE: file },
    { roles: ["worker"], slackRetries: 0, logger: createLogger("silent") },
  );
}

describe("first start", () => {
  it("takes the routing file as version 1, recorded as bootstrapped", async () => {
    expect(await versions(h)).toEqual([
      expect.objectContaining({
        version: 1,
        status: "active",
        source: "file",
        author: "file:routing.governed.yml",
        text: GOVERNED_TEXT,
      }),
    ]);
    expect((await routingAudit(h))[0]).toMatchObject({
      action: "routing.bootstrapped",
      actor: "system",
      details: expect.objectContaining({ version: 1 }),
    });
    expect(h.bot.deps.routing.current().version).toBe(1);
  });
});

describe("a changed routing file on deploy", () => {
  it("becomes a proposal for review, not the routing", async () => {
    const replica = await deployWith(ADS_TO_FULFILLMENT, "routing.yml");
    try {
      const proposed = await eventually(async () =>
        (await versions(h)).find((v) => v.source === "file" && v.status === "proposed"),
      );
      expect(proposed).toMatchObject({
        author: "file:routing.yml",
        baseVersion: 1,
        text: ADS_TO_FULFILLMENT,
      });
      expect(replica.deps.routing.current().version).toBe(1);
      expect(h.bot.deps.routing.current().version).toBe(1);
      await eventually(async () => (await version(h, proposed.version)).approvalTs);
      expect(h.fake.messages(APPROVALS)).toHaveLength(1);
    } finally {
      await replica.stop();
    }
    // The same file on the next deploy is the same proposal, not another one.
    const again = await deployWith(ADS_TO_FULFILLMENT, "routing.yml");
    await again.stop();
    expect(
      (await versions(h)).filter((v) => v.source === "file" && v.status === "proposed"),
    ).toHaveLength(1);
  });

  it("stops start-up when the file does not parse, naming the line", async () => {
    const broken = edit(GOVERNED_TEXT, "role: ads-ops\n    severity", "role: ad-ops\n    severity");
    const failure = await deployWith(broken, "broken.yml").then(
      (bot) => bot.stop().then(() => null),
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(RoutingFileError);
    expect((failure as Error).message).toContain(
      'broken.yml:16: routes[0].role: role "ad-ops" is not defined',
    );
  });
});

describe("hot reload", () => {
  it("a second process switches within seconds of an approval, without restarting, and routes by the new version", async () => {
    const other = await h.startAnother(["worker"]);
    expect(other.deps.routing.current().version).toBe(1);
    const row = await propose(edit(ADS_TO_FULFILLMENT, "claim: 30m", "claim: 25m"));
    const approved = await approveProposal(h.bot.deps, {
      version: row.version,
      actor: "U0MGR2",
      via: "slack",
    });
    expect(approved.ok).toBe(true);
    // ROUTING_POLL_MS is a minute here: only LISTEN/NOTIFY can be this quick.
    await eventually(
      async () => other.deps.routing.current().version === row.version,
      5000,
      "the other process to switch",
    );
    expect(other.deps.routing.current().config.roles["ads-ops"]?.sla.claimMs).toBe(25 * 60_000);

    await h.report(
      failureEvent({
        sku: "SKU-AFTER-SWITCH",
        targetSystem: "ads.google",
        failureMode: "throttled",
      }),
    );
    const [routed] = await eventually(async () => {
      const rows = await h.exceptionsFor("SKU-AFTER-SWITCH");
      return rows.length ? rows : null;
    });
    expect(routed).toMatchObject({
      role: "fulfillment-ops",
      channel: "C0FULFILL",
      routingVersion: row.version,
    });
  });

  it("falls back to polling the active version when LISTEN is unavailable", async () => {
    const deaf = {
      db: h.bot.deps.db,
      sql: { listen: () => Promise.reject(new Error("no LISTEN through this pooler")) } as never,
    };
    const source = await startRoutingSource({
      database: deaf,
      logger: createLogger("silent"),
      pollMs: 200,
    });
    try {
      const before = source.current().version as number;
      const base = (await version(h, before)).text;
      const row = await propose(edit(base, "claim: 25m", "claim: 35m"));
      expect(
        (
          await approveProposal(h.bot.deps, {
            version: row.version,
            actor: "U0ADMIN",
            via: "slack",
          })
        ).ok,
      ).toBe(true);
      await eventually(
        async () => source.current().version === row.version,
        5000,
        "the polling source to switch",
      );
    } finally {
      await source.close();
    }
  });
});
