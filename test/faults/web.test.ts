/**
 * The web role as a real process: it keeps answering Slack after its Postgres backends are
 * terminated, and SIGTERM drains it (in-flight requests answered, exit 0 within 10 s).
 */
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { slackRequester } from "../../dev/slack/signing.js";
import { ACTIONS } from "../../src/exceptions/card.js";
import { eventually, failureEvent } from "../support/harness.js";
import { SIGNING_SECRET, type Stage, startStage, terminateBackends } from "./support.js";

let stage: Stage | undefined;
afterEach(async () => {
  await stage?.close();
  stage = undefined;
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("web process", () => {
  it("answers clicks again after its Postgres backends are terminated", async () => {
    stage = await startStage();
    const s = stage;
    const port = await freePort();
    await stage.start("worker");
    const web = await stage.start("web", { PORT: String(port) });
    const slack = slackRequester({
      url: `http://127.0.0.1:${port}`,
      signingSecret: SIGNING_SECRET,
      responseUrl: () => s.fake.responseUrl(),
    });
    await stage.report([failureEvent({ sku: "SKU-WEB-PG" })]);
    const [row] = await eventually(async () => {
      const rows = await s.sql<{ id: number; channel: string; card_ts: string | null }[]>`
        select id, channel, card_ts from exceptions where sku = 'SKU-WEB-PG' and card_ts is not null`;
      return rows.length ? rows : null;
    }, 30_000);
    expect(await terminateBackends(stage)).toBeGreaterThan(0);
    await eventually(
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200,
      15_000,
      "healthy again",
    );
    const click = await slack.blockAction({
      userId: "U0ALICE",
      channelId: row!.channel,
      messageTs: row!.card_ts!,
      actionId: ACTIONS.claim,
      value: String(row!.id),
    });
    expect(click.status).toBe(200);
    await eventually(async () => {
      const [state] = await s.sql<{ claimed_by: string | null }[]>`
        select claimed_by from exceptions where id = ${row!.id}`;
      return state?.claimed_by === "U0ALICE";
    }, 15_000);
    expect(web.child.exitCode).toBeNull();
  });

  it("SIGTERM: answers what it holds and exits 0 within 10 s", async () => {
    stage = await startStage();
    const port = await freePort();
    const web = await stage.start("web", { PORT: String(port) });
    const slack = slackRequester({
      url: `http://127.0.0.1:${port}`,
      signingSecret: SIGNING_SECRET,
    });
    const inFlight = Array.from({ length: 20 }, () =>
      slack.command({ command: "/inventory", text: "help", userId: "U0ALICE", channelId: "C0X" }),
    );
    const sentAt = Date.now();
    web.child.kill("SIGTERM");
    const answered = await Promise.allSettled(inFlight);
    const { code, at } = await web.exited;
    expect(code, web.output().slice(-2000)).toBe(0);
    expect(at - sentAt).toBeLessThan(10_000);
    // Every request got an answer (200) or was refused at the door (connection refused);
    // none was cut off half-way with a 5xx.
    for (const result of answered) {
      if (result.status === "fulfilled") expect(result.value.status).toBe(200);
      else
        expect(String(result.reason?.cause?.code ?? result.reason)).toMatch(
          /ECONNREFUSED|ECONNRESET|other side closed/,
        );
    }
  });
});
