/**
 * A process stopping with tracing on exports its last spans to the collector named by the
 * OTEL_* settings, and a collector that does not answer cannot hold up the drain.
 */
import { createServer as createHttpServer } from "node:http";
import { createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { loadEnv } from "../../src/env.js";
import { inSpan, startTracing, tracingActive } from "../../src/platform/tracing.js";

const secrets = {
  SLACK_BOT_TOKEN: "xoxb-1234-secret-bot-token",
  SLACK_SIGNING_SECRET: "signing-secret-that-must-stay-secret",
};
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function listen(server: ReturnType<typeof createServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe("stopping with tracing on", () => {
  it("exports the spans still buffered to OTEL_EXPORTER_OTLP_ENDPOINT's /v1/traces", async () => {
    const received: { path?: string; bytes: Buffer }[] = [];
    const collector = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        received.push({ path: req.url, bytes: Buffer.concat(chunks) });
        res.writeHead(200).end();
      });
    });
    const url = await listen(collector);
    closers.push(() => new Promise((resolve) => collector.close(resolve)));
    const tracing = startTracing(
      loadEnv({ ...secrets, OTEL_EXPORTER_OTLP_ENDPOINT: `${url}/`, OTEL_SERVICE_NAME: "desk" }),
    );
    await inSpan("intake sync.failed", { root: true }, async () => {});
    expect(received).toEqual([]);
    await tracing?.shutdown();
    expect(received.map((r) => r.path)).toEqual(["/v1/traces"]);
    expect(received[0]?.bytes.includes("intake sync.failed")).toBe(true);
    expect(received[0]?.bytes.includes("desk")).toBe(true);
  });

  it("gives up on a collector that never answers within 3 s, and says so", async () => {
    const sockets = new Set<Socket>();
    const blackHole = createServer((socket) => {
      sockets.add(socket);
    });
    const url = await listen(blackHole);
    closers.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    });
    const tracing = startTracing(
      loadEnv({ ...secrets, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${url}/v1/traces` }),
    );
    await inSpan("slack.outbox card", { root: true }, async () => {});
    const started = Date.now();
    await expect(tracing?.shutdown()).rejects.toThrow("spans not exported within 3000 ms");
    expect(Date.now() - started).toBeLessThan(4500);
    expect(sockets.size).toBeGreaterThan(0);
    expect(tracingActive()).toBe(false);
  });
});
