/**
 * Preloaded into a bot child process by bench/bot-shape.ts when round trips are asked for
 * (`--import`, BENCH_TRIPS): it reads what the process writes to Postgres (port 5432) and
 * Redis (6379) and, on the parent's IPC messages, resets and reports the counts.
 *
 * Postgres: a round trip is a Sync, a Flush or a simple Query message (the client waits for
 * each); a statement is an Execute or a simple Query, named by the text it was parsed from
 * (a prepared statement's Bind names the Parse seen earlier on its connection); a transaction
 * is a `begin`. Redis: a command is a RESP array (`*n`) at the start of a command.
 */
import net from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Command = { type: "bench.trips.start" } | { type: "bench.trips.stop" };

let counting = false;
let pg = { roundTrips: 0, statements: 0, transactions: 0 };
let redisCommands = 0;
let byText = new Map<string, number>();
/** Per socket: statement name -> its text, and the last unnamed statement's text. */
const named = new WeakMap<net.Socket, Map<string, string>>();

const shorten = (text: string) => text.replace(/\s+/g, " ").trim().slice(0, 90);

function cstring(buffer: Buffer, at: number): [string, number] {
  const end = buffer.indexOf(0, at);
  return [buffer.toString("utf8", at, end), end + 1];
}

function scanPostgres(socket: net.Socket, chunk: Buffer) {
  let names = named.get(socket);
  if (!names) {
    names = new Map();
    named.set(socket, names);
  }
  let portalText = "";
  let at = 0;
  while (at + 5 <= chunk.length) {
    const type = String.fromCharCode(chunk[at] as number);
    const length = chunk.readInt32BE(at + 1);
    if (!"PBDESHQCXFpfd".includes(type) || length < 4) return; // a startup message
    const body = at + 5;
    if (type === "P") {
      const [name, next] = cstring(chunk, body);
      const [text] = cstring(chunk, next);
      names.set(name, shorten(text));
    } else if (type === "B") {
      const [, next] = cstring(chunk, body);
      const [statement] = cstring(chunk, next);
      portalText = names.get(statement) ?? "?";
    } else if (type === "E") {
      pg.statements++;
      if (/^begin/i.test(portalText)) pg.transactions++;
      byText.set(portalText, (byText.get(portalText) ?? 0) + 1);
    } else if (type === "Q") {
      const [text] = cstring(chunk, body);
      const short = shorten(text);
      pg.statements++;
      pg.roundTrips++;
      if (/^begin/i.test(short)) pg.transactions++;
      byText.set(short, (byText.get(short) ?? 0) + 1);
    } else if (type === "S" || type === "H") {
      pg.roundTrips++;
    }
    at = body + length - 4;
  }
}

function countRedis(chunk: unknown) {
  const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : "";
  if (text.startsWith("*")) redisCommands++;
  redisCommands += text.split("\r\n*").length - 1;
}

const write = net.Socket.prototype.write;
net.Socket.prototype.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]) {
  if (counting) {
    if (this.remotePort === 5432 && Buffer.isBuffer(chunk)) scanPostgres(this, chunk);
    else if (this.remotePort === 6379) countRedis(chunk);
  }
  return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
} as typeof write;

/** The largest of each part of process.memoryUsage() (MB) while counting, sampled every 200 ms. */
let memory: Record<string, number> = {};
let sampler: NodeJS.Timeout | undefined;
const sampleMemory = () => {
  for (const [part, bytes] of Object.entries(process.memoryUsage())) {
    memory[part] = Math.max(memory[part] ?? 0, Math.round(bytes / 1048576));
  }
};

process.on("message", (message: Command) => {
  if (message.type === "bench.trips.start") {
    memory = {};
    sampleMemory();
    const atStart = { ...memory };
    memory = {
      ...Object.fromEntries(Object.keys(atStart).map((k) => [`${k}AtStart`, atStart[k] as number])),
    };
    sampler = setInterval(sampleMemory, 200);
    sampler.unref();
    pg = { roundTrips: 0, statements: 0, transactions: 0 };
    redisCommands = 0;
    byText = new Map();
    counting = true;
    process.send?.({ type: "bench.trips.start.done" });
  } else if (message.type === "bench.trips.stop") {
    counting = false;
    clearInterval(sampler);
    sampleMemory();
    // What the heap holds once garbage is collected: the live set, against the peak above.
    fullGc();
    memory.heapUsedAfterGc = Math.round(process.memoryUsage().heapUsed / 1048576);
    memory.rssAfterGc = Math.round(process.memoryUsage().rss / 1048576);
    stopped();
  }
});

/** A full garbage collection without starting node with --expose-gc. */
function fullGc() {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

function stopped() {
  const top = [...byText.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  process.send?.({ type: "bench.trips.stop.done", pg, redisCommands, top, memory });
}
// The bot decides when this process ends; listening to the parent must not keep it alive.
process.channel?.unref();
