/**
 * The producer kit as a producer gets it: `npm pack` of packages/contract, installed from the
 * tarball into a project that has nothing but zod and bullmq (with ioredis, BullMQ 6's Redis
 * client; no desk, no TypeScript source),
 * used from plain JavaScript to report a failure the desk turns into a card, and type-checked
 * from TypeScript against the .d.ts it ships.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureEvent, REDIS_URL } from "../support/harness.js";
import { DESK, exceptionOf } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const KIT = join(ROOT, "packages/contract");
const version = (name: string) =>
  (createRequire(join(ROOT, "package.json"))(`${name}/package.json`) as { version: string })
    .version;

const h = useHarness({ ...DESK, env: { STORM_THRESHOLD: "1000" } });
const scratch = mkdtempSync(join(tmpdir(), "syncdesk-kit-"));
let tarball = "";

beforeAll(async () => {
  const packed = await run("npm", ["pack", "--silent", "--pack-destination", scratch], {
    cwd: KIT,
  });
  tarball = join(scratch, packed.stdout.trim().split("\n").pop() as string);
  const project = join(scratch, "producer");
  await run("mkdir", ["-p", project]);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({
      name: "a-producer",
      private: true,
      type: "module",
      dependencies: {
        "@syncdesk/contract": `file:${tarball}`,
        bullmq: version("bullmq"),
        // BullMQ 6's Redis client, which it leaves for the application to install.
        ioredis: version("ioredis"),
        zod: version("zod"),
      },
    }),
  );
  await run(
    "npm",
    [
      "install",
      "--prefer-offline",
      "--ignore-scripts",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
    ],
    { cwd: project },
  );
}, 180_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the packed producer kit", () => {
  it("ships built JavaScript and types, and depends on zod alone", async () => {
    const listing = await run("tar", ["-tzf", tarball]);
    const files = listing.stdout.split("\n");
    expect(files).toEqual(
      expect.arrayContaining(["package/dist/index.js", "package/dist/index.d.ts"]),
    );
    const installed = join(scratch, "producer/node_modules/@syncdesk/contract");
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    expect(Object.keys(manifest.dependencies)).toEqual(["zod"]);
    expect(manifest.peerDependenciesMeta.bullmq.optional).toBe(true);
    expect(readdirSync(join(installed, "dist"))).toContain("failure-event.d.ts");
  });

  it("reports a failure from a plain JavaScript producer, and the desk cards it", async () => {
    const project = join(scratch, "producer");
    writeFileSync(
      join(project, "report.mjs"),
      `import { Queue } from "bullmq";
import { FAILURE_QUEUE, reportSyncFailure } from "@syncdesk/contract";
const [prefix, redisUrl, json] = process.argv.slice(2);
const { hostname, port } = new URL(redisUrl);
const queue = new Queue(FAILURE_QUEUE, { connection: { host: hostname, port: Number(port || 6379) }, prefix });
try {
  console.log(await reportSyncFailure(queue, JSON.parse(json)));
} finally {
  await queue.close();
}
`,
    );
    const event = failureEvent({ sku: "SKU-KIT-1", client: "acme" });
    const { stdout } = await run(
      "node",
      ["report.mjs", h.env.QUEUE_PREFIX, REDIS_URL, JSON.stringify(event)],
      { cwd: project },
    );
    expect(stdout.trim()).toBe(`event-${Buffer.from(event.eventId).toString("base64url")}`);
    const row = await exceptionOf(h, event.eventId);
    expect(row).toMatchObject({ channel: "C0FULFILL", sku: "SKU-KIT-1" });

    // A bad event is refused at the producer's call site, before anything is queued.
    const bad = await run(
      "node",
      ["report.mjs", h.env.QUEUE_PREFIX, REDIS_URL, JSON.stringify({ ...event, client: "" })],
      { cwd: project },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining("must not be empty") });
  });

  it("type-checks a TypeScript producer against the .d.ts it ships", async () => {
    const project = join(scratch, "producer");
    writeFileSync(
      join(project, "producer.ts"),
      `import { type FailureEventInput, failureJobId, JOB_NAMES } from "@syncdesk/contract";
const event: FailureEventInput = {
  eventId: "e-1", occurredAt: "2026-11-26T09:00:00Z", client: "acme", sku: "S-1",
  sourceSystem: "erp", targetSystem: "shop", failureMode: "network",
  error: { message: "timeout" }, attempts: 3,
};
export const job: [string, string] = [JOB_NAMES.failure, failureJobId(event.eventId)];
// @ts-expect-error failureMode is an enum: a typo does not compile
export const typo: FailureEventInput = { ...event, failureMode: "netwrok" };
`,
    );
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
    await expect(
      run(
        "node",
        [
          tsc,
          "--noEmit",
          "--strict",
          "--module",
          "nodenext",
          "--moduleResolution",
          "nodenext",
          "--skipLibCheck",
          "producer.ts",
        ],
        { cwd: project },
      ),
    ).resolves.toBeDefined();
  });
});
