/** The Bolt app: HTTP receiver on /slack/events (or Socket Mode), health route, our logger. */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { App, HTTPReceiver, LogLevel } from "@slack/bolt";
import type { WebClientOptions } from "@slack/web-api";
import type { Logger } from "../logger.js";
import { createClickEdge } from "./edge-ack.js";

export interface SlackAppOptions {
  token: string;
  signingSecret: string;
  appToken?: string;
  slackApiUrl?: string;
  /** Options of every client Bolt builds (src/platform/slack/outbound.ts: the one way out). */
  clientOptions?: WebClientOptions;
  logger: Logger;
  health: () => Promise<boolean>;
  extraRoutes?: {
    path: string;
    handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  }[];
  /**
   * HTTP mode: wraps Bolt's request listener, e.g. with the replay and size checks of
   * src/security/request-guard.ts. Set `rawBody` on the request to hand Bolt the bytes read.
   */
  guardRequests?: (inner: RequestListener) => RequestListener;
  /** HTTP mode: bodies above this many bytes get 413 (Bolt's own default is 4 MB). */
  maxBodyBytes?: number;
}

export async function createSlackApp(options: SlackAppOptions): Promise<App> {
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
    ...(options.extraRoutes ?? []).map((route) => ({ ...route, method: ["GET"] })),
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
  if (options.appToken) {
    app = new App({
      ...common,
      signingSecret: options.signingSecret,
      socketMode: true,
      appToken: options.appToken,
      customRoutes,
    });
  } else {
    // Our own HTTPReceiver (what Bolt would build) so its request listener can be guarded.
    const receiver = new HTTPReceiver({
      signingSecret: options.signingSecret,
      processBeforeResponse: false,
      customRoutes,
      logger,
      ...(options.maxBodyBytes ? { bodyLimit: options.maxBodyBytes } : {}),
    });
    app = new App({ ...common, receiver });
    // Clicks are acked at the edge only behind the guard, which has verified them by then.
    if (options.guardRequests) {
      const edge = createClickEdge(app, options.logger);
      receiver.requestListener = edge.count(
        options.guardRequests(edge.ack(receiver.requestListener)),
      );
    }
  }
  await app.init();
  return app;
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
