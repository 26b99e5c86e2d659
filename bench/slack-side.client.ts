/** The bench's handle on its Slack-side worker thread (bench/slack-side.ts). */
import { Worker } from "node:worker_threads";
import type { ClickRequest, SlackSideReply, SlackSideRequest } from "./slack-side.js";

export interface SlackSide {
  url: string;
  calls(from?: number): Promise<Extract<SlackSideReply, { type: "calls" }>["calls"]>;
  click(
    target: { url: string; secret: string },
    clicks: ClickRequest[],
    spreadMs: number,
  ): Promise<{ ms: number; status: number }[]>;
  close(): Promise<void>;
}

export async function startSlackSide(): Promise<SlackSide> {
  // A TypeScript worker: register tsx's loader in the thread, then import the module.
  const worker = new Worker(
    `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})
      .then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL("./slack-side.ts", import.meta.url).href)}); })`,
    { eval: true },
  );
  const next = <T extends SlackSideReply["type"]>(type: T) =>
    new Promise<Extract<SlackSideReply, { type: T }>>((resolve, reject) => {
      const onMessage = (reply: SlackSideReply) => {
        if (reply.type !== type) return;
        worker.off("message", onMessage);
        worker.off("error", reject);
        resolve(reply as Extract<SlackSideReply, { type: T }>);
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
    });
  const ask = <T extends SlackSideReply["type"]>(request: SlackSideRequest, type: T) => {
    const reply = next(type);
    worker.postMessage(request);
    return reply;
  };
  const ready = await next("ready");
  return {
    url: ready.url,
    calls: async (from = 0) => (await ask({ type: "calls", from }, "calls")).calls,
    click: async (target, clicks, spreadMs) =>
      (await ask({ type: "clicks", ...target, clicks, spreadMs }, "clicked")).results,
    close: async () => {
      await ask({ type: "close" }, "closed");
      await worker.terminate();
    },
  };
}
