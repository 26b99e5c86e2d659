/**
 * `/readyz` follows the process's dependencies: 503 within 5 s of Postgres or Redis going away,
 * 200 again once they are back, and `/livez` stays 200 throughout (an outage is no reason to
 * restart every pod). Private servers (servers.ts): the shared ones are never touched.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeSlack, startFakeSlack } from "../../dev/slack/fake-slack.js";
import { loadEnv } from "../../src/env.js";
import { createLogger } from "../../src/platform/logger.js";
import { type Syncdesk, startSyncdesk } from "../../src/syncdesk.js";
import { ROUTING_FIXTURE, SIGNING_SECRET } from "../support/harness.js";
import {
  type ClusterTemplate,
  type PrivatePostgres,
  type PrivateRedis,
  prepareClusterTemplate,
  startPrivatePostgres,
  startPrivateRedis,
} from "./servers.js";

const FLIP_LIMIT_MS = 5_000;

let template: ClusterTemplate | undefined;
let pg: PrivatePostgres | undefined;
let redis: PrivateRedis | undefined;
let fake: FakeSlack | undefined;
let bot: Syncdesk | undefined;

beforeAll(async () => {
  template = await prepareClusterTemplate();
}, 120_000);
afterAll(() => template?.close());
afterEach(async () => {
  await bot?.stop();
  await fake?.close();
  await redis?.close();
  await pg?.close();
  bot = fake = redis = pg = undefined;
});

async function start(): Promise<number> {
  pg = await startPrivatePostgres(template as ClusterTemplate);
  redis = await startPrivateRedis({ persistent: false });
  fake = await startFakeSlack();
  const env = loadEnv({
    SLACK_BOT_TOKEN: "xoxb-test-token",
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fake.url,
    PORT: "0",
    METRICS_PORT: "0",
    DATABASE_URL: pg.databaseUrl,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `test-${randomUUID().slice(0, 8)}`,
    ROUTING_FILE: ROUTING_FIXTURE,
    LOG_LEVEL: "silent",
  });
  bot = await startSyncdesk(env, { roles: ["web", "worker"], logger: createLogger("silent") });
  return bot.opsPort as number;
}

const status = async (port: number, path: string) =>
  (await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) })).status;

/** Milliseconds from `since` until /readyz answers `wanted`. */
async function readyzBecomes(port: number, wanted: number, since: number, limitMs: number) {
  while (Date.now() - since < limitMs) {
    if ((await status(port, "/readyz")) === wanted) return Date.now() - since;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`/readyz did not answer ${wanted} within ${limitMs} ms`);
}

describe("/readyz", () => {
  it("turns 503 within 5 s of Redis going away, and 200 once it is back", async () => {
    const port = await start();
    expect(await status(port, "/readyz")).toBe(200);
    const down = Date.now();
    await redis?.stop("SIGKILL");
    const flip = await readyzBecomes(port, 503, down, FLIP_LIMIT_MS);
    expect(await status(port, "/livez")).toBe(200);
    const up = Date.now();
    await redis?.start();
    const back = await readyzBecomes(port, 200, up, 30_000);
    console.log(`readyz: Redis down -> 503 in ${flip} ms; back -> 200 in ${back} ms`);
  });

  it("turns 503 within 5 s of Postgres going away, and 200 once it is back", async () => {
    const port = await start();
    expect(await status(port, "/readyz")).toBe(200);
    const down = Date.now();
    // Down for 8 s: readiness must notice well before it comes back.
    const restarted = pg?.restart("immediate", 8_000);
    const flip = await readyzBecomes(port, 503, down, FLIP_LIMIT_MS);
    expect(await status(port, "/livez")).toBe(200);
    await restarted;
    const up = Date.now();
    const back = await readyzBecomes(port, 200, up, 30_000);
    console.log(`readyz: Postgres down -> 503 in ${flip} ms; back -> 200 in ${back} ms`);
  });
});
