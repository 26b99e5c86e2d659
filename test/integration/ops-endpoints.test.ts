/**
 * What a platform team's probes and Prometheus see of each process: /livez, /readyz and
 * /metrics on METRICS_PORT (apart from the public Slack port, every role), or beside
 * /slack/events when it is unset; /metrics behind a bearer token when METRICS_TOKEN is set.
 */
import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { eventually, failureEvent } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

const TOKEN = "metrics-token-0123456789abcdef";

interface Answer {
  status: number;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/**
 * One GET on its own connection (no keep-alive pool), as a probe does: a pooled socket would
 * outlive the file and fail its leak check.
 */
function get(port: number | null, path: string, headers: Record<string, string> = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        resolve({
          status: res.statusCode ?? 0,
          text: async () => body,
          json: async () => JSON.parse(body),
        });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("a worker process with METRICS_PORT and METRICS_TOKEN", () => {
  const h = useHarness({ roles: ["worker"], env: { METRICS_PORT: "0", METRICS_TOKEN: TOKEN } });

  it("is live and ready, and its /metrics (token required) shows the jobs it ran and the card it posted", async () => {
    const port = h.bot.opsPort;
    expect(port).toBeGreaterThan(0);
    expect((await get(port, "/livez")).status).toBe(200);
    const ready = await get(port, "/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      ok: true,
      checks: { postgres: "ok", redis: "ok", workers: "ok" },
    });

    await h.report(failureEvent({ sku: "SKU-OPS-WORKER" }));
    await h.fake.waitForCall("chat.postMessage", (call) =>
      JSON.stringify(call.body).includes("SKU-OPS-WORKER"),
    );
    expect((await get(port, "/metrics")).status).toBe(401);
    expect(
      (await get(port, "/metrics", { authorization: "Bearer wrong-token-wrong-token!" })).status,
    ).toBe(401);
    // The card can go out (outbox relay) before the job that queued it has finished: the job's
    // duration is counted when it completes.
    const scraped = await eventually(async () => {
      const text = await (await get(port, "/metrics", { authorization: `Bearer ${TOKEN}` })).text();
      return /^syncdesk_job_duration_seconds_count\{queue="inventory-sync-failures"/m.test(text)
        ? text
        : null;
    });
    expect(scraped).toMatch(/^syncdesk_cards_posted_total [1-9]/m);
    expect(scraped).toMatch(/^syncdesk_events_received_total\{queue="failures"\} [1-9]/m);
    expect(scraped).toMatch(
      /^syncdesk_job_duration_seconds_count\{queue="inventory-sync-failures",job="sync.failed",outcome="completed"\} [1-9]/m,
    );
    expect(scraped).toMatch(/^# TYPE syncdesk_sla_breaches_total counter/m);
    expect((await get(port, "/nothing")).status).toBe(404);
  });
});

describe("a worker process with METRICS_PORT", () => {
  const h = useHarness({ roles: ["worker"], env: { METRICS_PORT: "0" } });

  it("is not ready once it has stopped (SIGTERM's drain)", async () => {
    expect((await get(h.bot.opsPort, "/readyz")).status).toBe(200);
    await h.bot.stop();
    const after = await get(h.bot.opsPort, "/readyz").catch(() => null);
    expect(after?.status ?? "closed").not.toBe(200);
  });
});

describe("a web process without METRICS_PORT", () => {
  const h = useHarness({ roles: ["web"] });

  it("serves /healthz, /livez, /readyz and /metrics beside /slack/events", async () => {
    expect(h.bot.opsPort).toBeNull();
    for (const path of ["/healthz", "/livez", "/readyz", "/metrics"])
      expect((await get(h.bot.port, path)).status, path).toBe(200);
    expect(await (await get(h.bot.port, "/readyz")).json()).toMatchObject({
      checks: { postgres: "ok", redis: "ok" },
    });
  });
});

describe("a web process with METRICS_PORT", () => {
  const h = useHarness({ roles: ["web"], env: { METRICS_PORT: "0" } });

  it("keeps /metrics off the public Slack port", async () => {
    expect((await get(h.bot.port, "/metrics")).status).toBe(404);
    expect((await get(h.bot.port, "/healthz")).status).toBe(200);
    expect((await get(h.bot.opsPort, "/metrics")).status).toBe(200);
    expect((await get(h.bot.opsPort, "/readyz")).status).toBe(200);
  });
});
