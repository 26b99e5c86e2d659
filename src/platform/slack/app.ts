/** The Bolt app: our receiver on /slack/events (or Socket Mode), health route, our logger. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { App, LogLevel } from "@slack/bolt";
import type { WebClientOptions } from "@slack/web-api";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { SlackReceiver, type SlackReceiverOptions } from "./receiver.js";

export interface SlackAppOptions {
  token: string;
  signingSecret: string;
  appToken?: string;
  slackApiUrl?: string;
  /** Options of every client Bolt builds (src/platform/slack/outbound.ts: the one way out). */
  clientOptions?: WebClientOptions;
  logger: Logger;
  health: () => Promise<boolean>;
  /** Routes beside /slack/events, outside Slack's signature check (GET unless they say). */
  extraRoutes?: {
    path: string;
    method?: string[];
    handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  }[];
  /**
   * HTTP mode (required there): where the receiver remembers signatures and records acked
   * clicks (Redis, under the queue prefix), and what it does with a refused request.
   */
  edge?: { redis: Redis; prefix: string } & Pick<
    SlackReceiverOptions,
    "onRejected" | "maxBodyBytes" | "clicks" | "unhandledRequestTimeoutMs"
  >;
}

export interface SlackApp {
  app: App;
  /** HTTP mode's receiver (`startClickWork()` for the `clicks` role); null in Socket Mode. */
  receiver: SlackReceiver | null;
}

export async function createSlackApp(options: SlackAppOptions): Promise<SlackApp> {
  const logger = boltLogger(options.logger.child({ component: "bolt" }));
  const customRoutes = [
    {
      path: "/healthz",
      method: ["GET"],
      handler: async (_req: IncomingMessage, res: ServerResponse) => {
        const healthy = await options.health().catch(() => false);
        res.writeHead(healthy ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify({ ok: healthy }));
      },
    },
    ...(options.extraRoutes ?? []).map((route) => ({ ...route, method: route.method ?? ["GET"] })),
  ];
  const common = {
    token: options.token,
    // A copy: Bolt writes its logger into the object it is given.
    clientOptions: {
      ...options.clientOptions,
      ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
    },
    logger,
    deferInitialization: true,
    // No listener reads context.conversation: skip the store's middleware on every request.
    convoStore: false as const,
  };
  let app: App;
  let receiver: SlackReceiver | null = null;
  if (options.appToken) {
    app = new App({
      ...common,
      signingSecret: options.signingSecret,
      socketMode: true,
      appToken: options.appToken,
      customRoutes,
    });
  } else {
    if (!options.edge)
      throw new Error("HTTP mode needs the edge's Redis (replay memory and acked clicks)");
    receiver = new SlackReceiver({
      ...options.edge,
      signingSecret: options.signingSecret,
      logger: options.logger,
      boltLogger: logger,
      routes: customRoutes,
    });
    app = new App({ ...common, receiver });
  }
  await app.init();
  return { app, receiver };
}

function boltLogger(logger: Logger) {
  let level = LogLevel.INFO;
  const join = (parts: unknown[]) =>
    parts
      .map((part) =>
        typeof part === "string"
          ? part
          : part instanceof Error
            ? (part.stack ?? part.message)
            : JSON.stringify(part),
      )
      .join(" ");
  return {
    debug: (...msg: unknown[]) => logger.debug(join(msg)),
    info: (...msg: unknown[]) => logger.info(join(msg)),
    warn: (...msg: unknown[]) => logger.warn(join(msg)),
    error: (...msg: unknown[]) => logger.error(join(msg)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
