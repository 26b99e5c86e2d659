/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [clicks]`: where a CPU profile's time
 * went, by owner (our modules, packages, Node internals) and by the frames that mark the steps
 * of a Slack request, so the cost before `ack()` can be told apart from the work after it.
 * With `clicks`, figures are also given per click.
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * The steps of a click, each named by a frame that is on the stack while it runs. A sample
 * counts for the first step (in this order) whose marker is on its stack. Work after an ack
 * runs as a continuation of the listener, with no Bolt frame below it; the ack itself (the
 * response written) runs under Bolt's receiver, so the receiver comes first.
 */
const STEPS: [string, (frame: CallFrame) => boolean][] = [
  [
    "before ack: Bolt receiver (verify, parse, ack)",
    (f) => /@slack\/bolt\/dist\/receivers/.test(f.url),
  ],
  [
    "before ack: our receiver (size, signature, replay, click record)",
    (f) => /slack\/(receiver|request-checks|edge-ack)\.ts/.test(f.url),
  ],
  ["after ack: Postgres (drizzle, postgres.js)", (f) => /drizzle-orm|\/postgres\//.test(f.url)],
  [
    "after ack: Slack Web API / respond()",
    (f) => /@slack\/web-api|axios|outbound\.ts|rate-limiter\.ts/.test(f.url),
  ],
  ["after ack: BullMQ / Redis (queues)", (f) => /bullmq/.test(f.url)],
  [
    "after ack: our services and listeners",
    (f) => /\/src\/(exceptions|storms|sla|inventory|routing|audit|intake)\//.test(f.url),
  ],
  ["before ack: Bolt App (context, middleware, matching)", (f) => /@slack\/bolt/.test(f.url)],
  ["Redis client (ioredis)", (f) => /ioredis|redis-parser/.test(f.url)],
  [
    "HTTP server, sockets (node:)",
    (f) => /^node:(_http|net|internal\/(http|stream|streams))/.test(f.url),
  ],
  ["logging (pino)", (f) => /pino/.test(f.url)],
];

function owner(frame: CallFrame): string {
  if (!frame.url) return frame.functionName || "(anonymous)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (pkg) return pkg[1] as string;
  const ours = /\/(src|bench)\/(.+)$/.exec(frame.url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  if (frame.url.startsWith("node:"))
    return frame.url.replace(/\/[^/]*$/, "").replace(/^node:internal\/.*/, "node:internal");
  return frame.url;
}

function main() {
  const [file, clicksArg] = process.argv.slice(2);
  if (!file) {
    console.error("usage: tsx bench/profile-summary.ts <file.cpuprofile> [clicks]");
    process.exit(2);
  }
  const clicks = clicksArg ? Number(clicksArg) : null;
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfByOwner = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const bySteps = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    const leaf = byId.get(id);
    if (!leaf) return;
    const name = leaf.callFrame.functionName;
    if (name === "(idle)") {
      idleUs += us;
      return;
    }
    busyUs += us;
    const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + us);
    add(selfByOwner, owner(leaf.callFrame));
    add(
      selfByFunction,
      `${name || "(anonymous)"} ${owner(leaf.callFrame)}:${leaf.callFrame.lineNumber + 1}`,
    );
    const stack: CallFrame[] = [];
    for (let node: ProfileNode | undefined = leaf; node; node = byId.get(parent.get(node.id) ?? -1))
      stack.push(node.callFrame);
    const step = ["(garbage collector)", "(program)"].includes(name)
      ? name
      : (STEPS.find(([, marks]) => stack.some(marks))?.[0] ?? "other");
    add(bySteps, step);
  });

  const fmt = (us: number) => {
    const total = `${(us / 1000).toFixed(1).padStart(8)} ms ${((us / busyUs) * 100).toFixed(1).padStart(5)}%`;
    return clicks ? `${total} ${(us / 1000 / clicks).toFixed(3).padStart(7)} ms/click` : total;
  };
  const top = (map: Map<string, number>, n: number) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
  console.log(
    `${file}: ${(busyUs / 1000).toFixed(1)} ms busy, ${(idleUs / 1000).toFixed(1)} ms idle`,
  );
  console.log("\nBy step of a request (first marker on the stack)");
  for (const [key, us] of top(bySteps, 20)) console.log(`  ${key.padEnd(56)} ${fmt(us)}`);
  console.log("\nSelf time by owner");
  for (const [key, us] of top(selfByOwner, 20)) console.log(`  ${key.padEnd(56)} ${fmt(us)}`);
  console.log("\nSelf time by function");
  for (const [key, us] of top(selfByFunction, 30))
    console.log(`  ${key.slice(0, 80).padEnd(80)} ${fmt(us)}`);
}

main();
