/**
 * The bench's handle on Slack's side: the fake Web API (bench/slack-side.ts) and the people
 * clicking (bench/clicker.ts), each in a worker thread of its own.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import type { ClickerReply, ClickerRequest, ClickRequest } from "./clicker.js";
import type { SlackSideReply, SlackSideRequest } from "./slack-side.js";

export interface SlackSide {
  url: string;
  /** How the clickers' thread is scheduled: real-time when the machine allows it, else as the bot. */
  priority: string;
  calls(from?: number): Promise<Extract<SlackSideReply, { type: "calls" }>["calls"]>;
  click(
    target: { url: string; secret: string },
    clicks: ClickRequest[],
    spreadMs: number,
  ): Promise<{ ms: number; status: number }[]>;
  close(): Promise<void>;
}

export async function startSlackSide(): Promise<SlackSide> {
  const api = thread<SlackSideRequest, SlackSideReply>("./slack-side.ts");
  const clicker = thread<ClickerRequest, ClickerReply>("./clicker.ts");
  const [ready, clickerReady] = await Promise.all([api.next("ready"), clicker.next("ready")]);
  const slackUrl = new URL(ready.url).origin;
  return {
    url: ready.url,
    priority: await raisePriority(clickerReady.tid),
    calls: async (from = 0) => (await api.ask({ type: "calls", from }, "calls")).calls,
    click: async (target, clicks, spreadMs) =>
      (await clicker.ask({ type: "clicks", ...target, slackUrl, clicks, spreadMs }, "clicked"))
        .results,
    close: async () => {
      await api.ask({ type: "close" }, "closed");
      await Promise.all([api.worker.terminate(), clicker.worker.terminate()]);
    },
  };
}

/** A TypeScript module in a worker thread, asked by message and answered by message type. */
function thread<Request, Reply extends { type: string }>(module: string) {
  // Register tsx's loader in the thread, then import the module.
  const worker = new Worker(
    `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})
      .then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL(module, import.meta.url).href)}); })`,
    { eval: true },
  );
  const next = <T extends Reply["type"]>(type: T) =>
    new Promise<Extract<Reply, { type: T }>>((resolve, reject) => {
      const onMessage = (reply: Reply) => {
        if (reply.type !== type) return;
        worker.off("message", onMessage);
        worker.off("error", reject);
        resolve(reply as Extract<Reply, { type: T }>);
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
    });
  const ask = <T extends Reply["type"]>(request: Request, type: T) => {
    const reply = next(type);
    worker.postMessage(request);
    return reply;
  };
  return { worker, next, ask };
}

/**
 * Slack is not on the bot's machine in production, so the time its clickers wait for a CPU is
 * not the bot's: on two cores busy with a storm, a clicker thread at the bot's priority stamps
 * an answer late when it is not scheduled to read it. So the thread runs real-time (SCHED_FIFO,
 * `chrt`; it sleeps between clicks) where that is allowed (root or CAP_SYS_NICE), and the bench
 * says which. BENCH_CLICKER_PRIORITY=normal keeps it at the bot's priority.
 */
async function raisePriority(tid: number | null): Promise<string> {
  if (process.env.BENCH_CLICKER_PRIORITY === "normal") return "normal (BENCH_CLICKER_PRIORITY)";
  if (tid === null) return "normal (no thread id on this system)";
  try {
    await promisify(execFile)("chrt", ["--fifo", "--pid", "10", String(tid)]);
    return "real-time (chrt --fifo 10)";
  } catch (error) {
    return `normal (chrt refused: ${String((error as Error).message).split("\n")[0]})`;
  }
}
