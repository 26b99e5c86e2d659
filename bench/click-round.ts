/**
 * One round of signed clicks against the bot (bench/storm.ts), measured from both sides: the
 * latency Slack's clickers saw, the bot's own arrival-to-ack histogram, the CPU each event loop
 * spent and waited for, how late the web's loop ran, and (BENCH_TRIPS) the web's round trips.
 * Also the floors: the same burst against a bare server, and one that records each request.
 */
import { spawn } from "node:child_process";
import type { BotUnderBench, Trips } from "./bot-shape.js";
import type { ClickRequest } from "./clicker.js";
import { countBy, line, ms, percentile } from "./figures.js";
import type { SlackSide } from "./slack-side.client.js";

export interface Round {
  results: { ms: number; status: number }[];
  /** Event-loop CPU per click until the last ack, per process. */
  cpu: string;
  /** How long each process's event-loop thread waited, runnable, for a CPU in the round. */
  waited: string;
  /** The bot's `syncdesk_slack_ack_seconds` buckets (status 200) for this round. */
  acks: [number, number][];
  /** The web's event-loop delay P99 / max over the round. */
  loop: string;
  trips: Trips | undefined;
}

export async function clickRound(
  bot: BotUnderBench,
  slack: SlackSide,
  target: { url: string; secret: string },
  clicks: ClickRequest[],
  spreadMs: number,
  options: { profileFile?: string; trips?: boolean } = {},
): Promise<Round> {
  const stopProfile = options.profileFile ? await bot.profileWeb(options.profileFile) : null;
  // A scrape also restarts the event-loop delay figures: the next one covers this round.
  const acksBefore = ackHistogram(await scrape(bot.url));
  const stopTrips = options.trips ? await bot.tripsWeb() : null;
  const cpuBefore = bot.cpuMs();
  const waitBefore = bot.waitMs();
  const results = await slack.click(target, clicks, spreadMs);
  const cpuAfter = bot.cpuMs();
  const waitAfter = bot.waitMs();
  const trips = await stopTrips?.();
  const scraped = await scrape(bot.url);
  await stopProfile?.();
  const cpu = Object.entries(cpuAfter).map(
    ([proc, after]) =>
      `${proc} ${((after - (cpuBefore[proc] ?? 0)) / clicks.length).toFixed(2)} ms`,
  );
  const waited = Object.entries(waitAfter).map(
    ([proc, after]) => `${proc} ${ms(after - (waitBefore[proc] ?? 0))}`,
  );
  return {
    results,
    cpu: cpu.join(", "),
    waited: waited.join(", "),
    acks: subtract(ackHistogram(scraped), acksBefore),
    loop: loopDelay(scraped),
    trips,
  };
}

export function printRound(say: (text: string) => void, label: string, round: Round, p99: string) {
  const { results, acks, trips } = round;
  const latencies = results.map((r) => r.ms);
  say(`  ${label}:`);
  say(line("  HTTP statuses", JSON.stringify(countBy(results, (r) => String(r.status)))));
  say(line("  ack latency median", ms(percentile(latencies, 50))));
  say(line("  ack latency P90", ms(percentile(latencies, 90))));
  say(line(`  ack latency P99 (${p99})`, ms(percentile(latencies, 99))));
  say(line("  ack latency max", ms(Math.max(...latencies))));
  say(
    line(
      "  bot's own view (arrival to ack, /metrics)",
      `P99 <= ${ms(bucketPercentile(acks, 99) * 1000)}, ${withinShare(acks, 0.1)} within 100 ms`,
    ),
  );
  say(line("  event-loop CPU per click, until the last ack", round.cpu));
  say(line("  event-loop thread waiting for a CPU, in all", round.waited));
  say(line("  web event-loop delay P99 / max (/metrics)", round.loop));
  if (!trips) return;
  const per = (n: number) => (n / results.length).toFixed(2);
  say(
    line(
      "  web, per click until the last ack: PG round trips / statements / Redis commands",
      `${per(trips.pg.roundTrips)} / ${per(trips.pg.statements)} / ${per(trips.redisCommands)}`,
    ),
  );
  for (const [text, n] of trips.top.slice(0, 8)) say(`      ${String(n).padStart(5)}  ${text}`);
}

/** A Node server that answers 200 once it has read the request. */
export const BARE_SERVER = `require("node:http").createServer((req, res) => { req.resume(); req.on("end", () => res.end()); })
  .listen(0, "127.0.0.1", function () { process.send(this.address().port); });`;

/** The same, after adding the request's body to a BullMQ queue under `prefix` (as edge-ack.ts). */
export function recordingServer(redisUrl: string, prefix: string): string {
  return `const { Queue } = require("bullmq");
  const queue = new Queue("slack-clicks", { prefix: ${JSON.stringify(prefix)},
    connection: { url: ${JSON.stringify(redisUrl)}, maxRetriesPerRequest: null } });
  require("node:http").createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      queue.add("click", { body, ackedAt: Date.now() }, { jobId: "c-" + Math.random(),
        removeOnComplete: { age: 900 } }).then(() => res.end(), () => { res.statusCode = 503; res.end(); });
    });
  }).listen(0, "127.0.0.1", function () { process.send(this.address().port); });`;
}

/** The latencies of `send` (the same burst) against `server` run as a child process. */
export async function floorLatencies(
  send: (url: string) => Promise<{ ms: number }[]>,
  server: string,
): Promise<number[]> {
  const bare = spawn(process.execPath, ["-e", server], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    const port = await new Promise<number>((resolve) => bare.once("message", resolve));
    return (await send(`http://127.0.0.1:${port}`)).map((r) => r.ms);
  } finally {
    bare.kill();
  }
}

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/**
 * How late the web process's event loop ran its timers since the scrape before (prom-client
 * restarts the figures at each scrape): a click that arrives meanwhile waits at least this long.
 */
function loopDelay(text: string): string {
  const seconds = (name: string) =>
    Number(
      new RegExp(`^syncdesk_process_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, "m").exec(
        text,
      )?.[1],
    );
  return `${ms(seconds("p99") * 1000)} / ${ms(seconds("max") * 1000)}`;
}

/** `syncdesk_slack_ack_seconds` for status 200 from the web process: [upper bound, count]. */
function ackHistogram(text: string): [number, number][] {
  const buckets: [number, number][] = [];
  for (const m of text.matchAll(
    /^syncdesk_slack_ack_seconds_bucket\{le="([^"]+)",status="200"\} (\d+)$/gm,
  ))
    buckets.push([m[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2])]);
  return buckets;
}

const subtract = (after: [number, number][], before: [number, number][]) =>
  after.map(([le, n], i): [number, number] => [le, n - (before[i]?.[1] ?? 0)]);

/** The smallest bucket bound holding `p` percent of the samples (cumulative buckets). */
function bucketPercentile(buckets: [number, number][], p: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  return buckets.find(([, n]) => n >= (p / 100) * total)?.[0] ?? Number.NaN;
}

function withinShare(buckets: [number, number][], seconds: number): string {
  const total = buckets.at(-1)?.[1] ?? 0;
  const within = buckets.find(([le]) => le === seconds)?.[1] ?? 0;
  return `${within}/${total}`;
}
