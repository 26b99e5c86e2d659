/**
 * The demo's local stand-in for Slack's Web API as a service of its own (docker-compose.yml):
 * `tsx scripts/slack-stand-in.ts`, listening on STAND_IN_PORT (default 3001) on every
 * interface and printing each call it records (method, channel, text), so you see what Slack
 * would show. Point SLACK_API_URL at `http://<host>:<port>/api/`. Never for production.
 */
import { connect, createServer } from "node:net";
import { startFakeSlack } from "../dev/slack/fake-slack.js";

const PORT = Number(process.env.STAND_IN_PORT ?? 3001);
const fake = await startFakeSlack();
const upstreamPort = Number(new URL(fake.origin).port);

// The stand-in listens on loopback; this forwards the service's port to it byte for byte.
const proxy = createServer((client) => {
  const upstream = connect(upstreamPort, "127.0.0.1");
  client.pipe(upstream).pipe(client);
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
});
proxy.listen(PORT, "0.0.0.0", () => {
  console.log(`Slack stand-in on :${PORT} (SLACK_API_URL=http://<this host>:${PORT}/api/)`);
});

let printed = 0;
const timer = setInterval(() => {
  for (const call of fake.calls.slice(printed)) {
    const body = call.body as Record<string, unknown>;
    const text = typeof body.text === "string" ? body.text.split("\n")[0] : "";
    console.log(`${call.method} ${String(body.channel ?? "")} ${text}`.trim());
  }
  printed = fake.calls.length;
}, 500);

const stop = () => {
  clearInterval(timer);
  proxy.close();
  void fake.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
