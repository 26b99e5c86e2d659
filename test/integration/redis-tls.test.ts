/**
 * A managed Redis over TLS (`rediss://` with the provider's CA in REDIS_TLS_CA), played by a
 * local `redis-server --tls-port` with a certificate from a throwaway CA made by openssl. Skipped
 * (and says so) where redis-server was built without TLS.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeSlack } from "../../dev/slack/fake-slack.js";
import { loadEnv } from "../../src/env.js";
import { reportSyncFailure } from "../../src/intake/failure-event.schema.js";
import { createLogger } from "../../src/platform/logger.js";
import { clearPrefix, createRedis } from "../../src/platform/queue/redis.js";
import { startSyncdesk } from "../../src/syncdesk.js";
import { eventually, failureEvent, ROUTING_FIXTURE, SIGNING_SECRET } from "../support/harness.js";

const ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

let dir = "";
let port = 0;
let stopServer: (() => void) | undefined;
let tlsMissing = "";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: free } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return free;
}

function makeCertificates(): void {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  ssl("genrsa", "-out", "ca.key", "2048");
  ssl(
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-days",
    "1",
    "-subj",
    "/CN=syncdesk test CA",
    "-out",
    "ca.pem",
  );
  ssl("genrsa", "-out", "server.key", "2048");
  ssl("req", "-new", "-key", "server.key", "-subj", "/CN=127.0.0.1", "-out", "server.csr");
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  ssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "san.ext",
    "-out",
    "server.pem",
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "syncdesk-redis-tls-"));
  makeCertificates();
  port = await freePort();
  const server = spawn(
    "redis-server",
    [
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--tls-cert-file",
      join(dir, "server.pem"),
      "--tls-key-file",
      join(dir, "server.key"),
      "--tls-ca-cert-file",
      join(dir, "ca.pem"),
      "--tls-auth-clients",
      "no",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  server.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  server.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  stopServer = () => server.kill("SIGKILL");
  await eventually(
    async () => output.includes("Ready to accept") || server.exitCode !== null,
    15_000,
  );
  if (server.exitCode !== null) {
    tlsMissing = output.trim().split("\n").pop() ?? "redis-server exited";
    console.warn(`redis-server without TLS here, test skipped: ${tlsMissing}`);
  }
});
afterAll(() => {
  stopServer?.();
  rmSync(dir, { recursive: true, force: true });
});

describe("Redis over TLS", () => {
  it("with REDIS_TLS_CA, a failure event goes through the TLS Redis and its card is posted", async (ctx) => {
    if (tlsMissing) ctx.skip();
    const url = `rediss://127.0.0.1:${port}`;
    const database = `syncdesk_test_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const databaseUrl = new URL(ADMIN_URL);
    databaseUrl.pathname = `/${database}`;
    const fake = await startFakeSlack({ usergroups: { S0FULFILL: ["U0DAVE"] } });
    const env = loadEnv({
      SLACK_BOT_TOKEN: "xoxb-test-token",
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.url,
      PORT: "0",
      METRICS_PORT: "0",
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: url,
      REDIS_TLS_CA: join(dir, "ca.pem"),
      QUEUE_PREFIX: `test-${randomUUID().slice(0, 8)}`,
      ROUTING_FILE: ROUTING_FIXTURE,
      LOG_LEVEL: "silent",
    });
    const bot = await startSyncdesk(env, { roles: ["worker"], logger: createLogger("silent") });
    const producer = createRedis(url, "tls-producer", {
      ca: readFileSync(join(dir, "ca.pem"), "utf8"),
    });
    const failures = new Queue(env.FAILURE_QUEUE, {
      connection: producer,
      prefix: env.QUEUE_PREFIX,
    });
    try {
      await reportSyncFailure(failures, failureEvent({ sku: "SKU-TLS" }));
      await fake.waitForCall(
        "chat.postMessage",
        (call) => JSON.stringify(call.body).includes("SKU-TLS"),
        15_000,
      );
      const ready = await fetch(`http://127.0.0.1:${bot.opsPort}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      await failures.close();
      await clearPrefix(producer, env.QUEUE_PREFIX);
      await producer.quit();
      await bot.stop();
      await fake.close();
      const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists "${database}" with (force)`);
      await admin.end();
    }
  });

  it("without the CA, the self-signed server is refused", async (ctx) => {
    if (tlsMissing) ctx.skip();
    const redis = createRedis(`rediss://127.0.0.1:${port}`, "tls-untrusted");
    try {
      const error = await new Promise<Error>((resolve) => redis.once("error", resolve));
      expect(error.message).toMatch(/certificate/i);
    } finally {
      redis.disconnect();
    }
  });
});
