/** The Bolt app: HTTP receiver on /slack/events (or Socket Mode), health route, our logger. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { App, LogLevel } from "@slack/bolt";
import type { Logger } from "../logger.js";

export interface SlackAppOptions {
  token: string;
  signingSecret: string;
  appToken?: string;
  slackApiUrl?: string;
  logger: Logger;
  health: () => Promise<boolean>;
  extraRoutes?: {
    path: string;
    handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  }[];
}

export async function createSlackApp(options: SlackAppOptions): Promise<App> {
  const app = new App({
    token: options.token,
    signingSecret: options.signingSecret,
    ...(options.appToken ? { socketMode: true, appToken: options.appToken } : {}),
    clientOptions: options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {},
    logger: boltLogger(options.logger.child({ component: "bolt" })),
    deferInitialization: true,
    processBeforeResponse: false,
    customRoutes: [
      {
        path: "/healthz",
        method: ["GET"],
        handler: async (_req, res) => {
          const healthy = await options.health().catch(() => false);
          res.writeHead(healthy ? 200 : 503, { "content-type": "application/json" });
          res.end(JSON.stringify({ ok: healthy }));
        },
      },
      ...(options.extraRoutes ?? []).map((route) => ({ ...route, method: ["GET"] })),
    ],
  });
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
