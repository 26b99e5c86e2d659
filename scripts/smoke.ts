/**
 * `npm run smoke`: does what a deploy does, in a clean copy of this checkout, and says whether
 * it worked. `npm ci`, `npm run build`, `npm prune --omit=dev`; then the Procfile's `release`
 * line (migrations, compiled JS), its `web`, `clicks` and `worker` lines, readiness green on
 * each, one failure event in and its card out (by BullMQ, then over HTTP with a token from the
 * compiled producers CLI), a signed Claim click on that card acked by the web process and done
 * by the clicks process, SIGTERM, every process exits 0. Tracing is on (OTLP to a local
 * receiver): the worker's spans of the event, under the producer's trace, arrive by its exit.
 *
 * Slack is the local stand-in, run here from the dev checkout (the pruned copy has no tsx).
 * Exit code 0 = passed. SMOKE_KEEP=1 leaves the copy in place for a look.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import postgres from "postgres";
import { standInBotToken, startFakeSlack } from "../dev/slack/fake-slack.js";
import { slackRequester } from "../dev/slack/signing.js";
import { ACTIONS } from "../src/exceptions/card.js";
import { reportSyncFailure } from "../src/intake/failure-event.schema.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ADMIN_URL = process.env.SMOKE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const say = (text: string) => console.log(`[smoke ${elapsed()}] ${text}`);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined | false>) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The Procfile's lines, by process type. */
function procfile(dir: string): Record<string, string> {
  const lines = readFileSync(join(dir, "Procfile"), "utf8").split("\n");
  const entries = lines
    .map((line) => /^([a-z]+):\s*(.+)$/.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => [match[1] as string, match[2] as string]);
  return Object.fromEntries(entries);
}

function sh(cwd: string, command: string, args: string[]): void {
  say(`$ ${command} ${args.join(" ")}`);
  execFileSync(command, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });
}

interface Running {
  name: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function runLine(name: string, line: string, cwd: string, env: Record<string, string>): Running {
  // exec: the platform's process manager signals the command itself, not a shell around it.
  const child = spawn("sh", ["-c", `exec ${line}`], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { name, child, output: () => text, exited };
}

/** An OTLP/HTTP trace receiver: keeps the body of each export (protobuf) and answers 200. */
async function otlpReceiver() {
  const exports: Buffer[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/v1/traces") exports.push(Buffer.concat(chunks));
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** The producer's trace the smoke event carries (W3C traceparent). */
const TRACE_ID = "5b8efff798038103d269b633813fc60c";

async function main(): Promise<void> {
  const copy = mkdtempSync(join(tmpdir(), "syncdesk-smoke-"));
  const database = `syncdesk_smoke_${process.pid}`;
  const prefix = `smoke-${process.pid}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  // Connected once the build is done: npm's synchronous steps would time out its connect.
  let redis: Redis | undefined;
  // The deployed database, for reading the card back: opened once its name is known.
  let cardDb: postgres.Sql | undefined;
  const fake = await startFakeSlack();
  const otlp = await otlpReceiver();
  const running: Running[] = [];
  try {
    // A clean copy: what git tracks (and new files not ignored), nothing built or installed.
    const files = execFileSync(
      "git",
      ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
      {
        cwd: ROOT,
      },
    )
      .toString()
      .split("\0")
      .filter(Boolean);
    for (const file of files) {
      try {
        cpSync(join(ROOT, file), join(copy, file));
      } catch (error) {
        // A file deleted in the work tree but still in the index.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    say(`clean copy in ${copy}`);
    sh(copy, "npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"]);
    sh(copy, "npm", ["run", "build", "--silent"]);
    sh(copy, "npm", ["prune", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"]);

    const lines = procfile(copy);
    for (const type of ["release", "web", "clicks", "worker"])
      if (!lines[type]) throw new Error(`the Procfile has no ${type} line`);
    const webPort = await freePort();
    const webOps = await freePort();
    const workerOps = await freePort();
    const clicksOps = await freePort();
    const url = new URL(ADMIN_URL);
    url.pathname = `/${database}`;
    cardDb = postgres(url.toString(), { max: 1, onnotice: () => {} });
    const env = {
      SLACK_BOT_TOKEN: standInBotToken(),
      SLACK_SIGNING_SECRET: "smoke-signing-secret",
      SLACK_API_URL: fake.url,
      DATABASE_URL: url.toString(),
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      ROUTING_FILE: "routing.example.yml",
      LOG_LEVEL: "info",
      NODE_ENV: "production",
      // Traces on, to the local receiver; only the flush at SIGTERM can deliver them in time.
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_BSP_SCHEDULE_DELAY: "600000",
    };

    const release = runLine("release", lines.release as string, copy, env);
    if ((await release.exited) !== 0) throw new Error(`release failed:\n${release.output()}`);
    say("release: migrations applied");

    const web = runLine("web", lines.web as string, copy, {
      ...env,
      PORT: String(webPort),
      METRICS_PORT: String(webOps),
    });
    const worker = runLine("worker", lines.worker as string, copy, {
      ...env,
      PORT: String(await freePort()),
      METRICS_PORT: String(workerOps),
    });
    const clicks = runLine("clicks", lines.clicks as string, copy, {
      ...env,
      METRICS_PORT: String(clicksOps),
    });
    running.push(web, clicks, worker);
    for (const [proc, port] of [
      [web, webOps],
      [clicks, clicksOps],
      [worker, workerOps],
    ] as const) {
      await until(`${proc.name} /readyz`, 30_000, async () => {
        if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited:\n${proc.output()}`);
        const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
        return res?.status === 200;
      });
      say(`${proc.name}: /readyz 200 on METRICS_PORT`);
    }
    const health = await fetch(`http://127.0.0.1:${webPort}/healthz`);
    if (health.status !== 200) throw new Error(`web /healthz answered ${health.status}`);

    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const failures = new Queue("inventory-sync-failures", { connection: redis, prefix });
    const eventId = `smoke-${Date.now()}`;
    await reportSyncFailure(failures, {
      eventId,
      occurredAt: new Date().toISOString(),
      client: "acme",
      sku: "SMOKE-1",
      sourceSystem: "erp.netsuite",
      targetSystem: "storefront.shopify",
      failureMode: "network",
      error: { message: "smoke test" },
      attempts: 1,
      traceparent: `00-${TRACE_ID}-eee19b7ec3c1b174-01`,
    });
    await failures.close();
    await fake.waitForCall(
      "chat.postMessage",
      (call) => JSON.stringify(call.body).includes("SMOKE-1"),
      30_000,
    );
    say("failure event in, card posted");

    // A Claim click by the role's manager: acked by the web process, done by the clicks one.
    await until("the web process leaving click work to the clicks process", 10_000, async () =>
      web.output().includes("this web process leaves click work to it"),
    );
    const db = cardDb;
    const [card] = await db<{ id: number; channel: string; card_ts: string }[]>`
      select id::int, channel, card_ts from exceptions where sku = 'SMOKE-1'`;
    if (!card) throw new Error("no exception for SMOKE-1");
    const slack = slackRequester({
      url: `http://127.0.0.1:${webPort}`,
      signingSecret: env.SLACK_SIGNING_SECRET,
      responseUrl: () => fake.responseUrl(),
    });
    const clicked = await slack.blockAction({
      userId: "U0MGR3",
      channelId: card.channel,
      messageTs: card.card_ts,
      actionId: ACTIONS.claim,
      value: String(card.id),
    });
    if (clicked.status !== 200) throw new Error(`the Claim click was answered ${clicked.status}`);
    await until("the claim", 15_000, async () => {
      const [row] = await db<{ claimed_by: string | null }[]>`
        select claimed_by from exceptions where id = ${card.id}`;
      return row?.claimed_by === "U0MGR3";
    });
    say("Claim click: 200 from web, claimed by the clicks process");

    // The HTTP intake of the built web process, with a token from the compiled producers CLI.
    const created = execFileSync(
      "node",
      ["dist/producers/producers.cli.js", "create", "smoke-producer"],
      { cwd: copy, env: { PATH: process.env.PATH ?? "", ...env } },
    ).toString();
    const token = /sdp_[A-Za-z0-9_-]{43}/.exec(created)?.[0];
    if (!token) throw new Error(`producers create printed no token:\n${created}`);
    const posted = await fetch(`http://127.0.0.1:${webPort}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        events: [
          {
            name: "sync.failed",
            data: {
              eventId: `${eventId}-http`,
              occurredAt: new Date().toISOString(),
              client: "acme",
              sku: "SMOKE-HTTP-1",
              sourceSystem: "erp.netsuite",
              targetSystem: "storefront.shopify",
              failureMode: "network",
              error: { message: "smoke test over HTTP" },
              attempts: 1,
            },
          },
        ],
      }),
    });
    const answer = (await posted.json()) as { accepted?: number };
    if (posted.status !== 202 || answer.accepted !== 1)
      throw new Error(`POST /v1/events answered ${posted.status} ${JSON.stringify(answer)}`);
    await fake.waitForCall(
      "chat.postMessage",
      (call) => JSON.stringify(call.body).includes("SMOKE-HTTP-1"),
      30_000,
    );
    say("producers CLI token, POST /v1/events 202, card posted");

    const metrics = await (await fetch(`http://127.0.0.1:${workerOps}/metrics`)).text();
    if (!/^syncdesk_cards_posted_total [1-9]/m.test(metrics))
      throw new Error("the worker's /metrics does not count the card");
    say("worker /metrics counts the card");

    for (const proc of running) proc.child.kill("SIGTERM");
    for (const proc of running) {
      const code = await Promise.race([
        proc.exited,
        new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 15_000)),
      ]);
      if (code !== 0)
        throw new Error(
          `${proc.name} ended with ${code} after SIGTERM:\n${proc.output().slice(-3000)}`,
        );
      say(`${proc.name}: exit 0 after SIGTERM`);
    }
    running.length = 0;
    // Span names and trace ids travel as plain bytes in the protobuf export.
    const traced = otlp.exports.find(
      (body) => body.includes(Buffer.from(TRACE_ID, "hex")) && body.includes("intake sync.failed"),
    );
    if (!traced) throw new Error("no span of the event's trace reached the OTLP receiver");
    say(`tracing: ${otlp.exports.length} OTLP export(s), intake under the producer's trace`);
  } finally {
    for (const proc of running) proc.child.kill("SIGKILL");
    await fake.close();
    await otlp.close();
    if (redis) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
    await cardDb?.end();
    await admin.unsafe(`drop database if exists "${database}" with (force)`).catch(() => {});
    await admin.end();
    // Removing a node_modules takes 20 s on a busy disk: left to a detached rm, not waited for.
    if (!process.env.SMOKE_KEEP)
      spawn("rm", ["-rf", copy], { detached: true, stdio: "ignore" }).unref();
  }
}

try {
  await main();
  say(`passed in ${elapsed()}`);
} catch (error) {
  console.error(error);
  say("FAILED");
  process.exitCode = 1;
}
