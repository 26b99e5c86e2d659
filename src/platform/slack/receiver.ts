/**
 * The one HTTP edge to Slack (HTTP mode): a Bolt `Receiver` that owns `POST /slack/events`.
 * Each request is size-limited before it is buffered, its signature and timestamp checked with
 * Bolt's own verifier (request-checks.ts), its signature remembered in Redis so a replay inside
 * the window is refused (Bolt has no replay memory; the key is shared by every web replica), and
 * every refusal reported (`onRejected`: the audit trail). What passes is parsed as Bolt's
 * HTTPReceiver parses it and answered as it answers: `ssl_check` and `url_verification` here,
 * clicks at once once recorded (edge-ack.ts), anything else through `app.processEvent` with an
 * ack that writes the HTTP answer, and 404 after ~3 s without one. Listeners carry the logic.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  type App,
  type Logger as BoltLogger,
  type BufferedIncomingMessage,
  buildReceiverRoutes,
  type CustomRoute,
  HTTPModuleFunctions,
  HTTPResponseAck,
  type Receiver,
  type ReceiverRoutes,
} from "@slack/bolt";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { metrics } from "../metrics.js";
import {
  type ClickEdge,
  type ClickEdgeOptions,
  type ClickWork,
  createClickEdge,
} from "./edge-ack.js";
import {
  answer,
  checkSignature,
  DEFAULT_MAX_BODY_BYTES,
  declaredLength,
  describeRejection,
  isSslCheck,
  pathOf,
  REJECTION_MESSAGES,
  REJECTION_STATUS,
  type RejectionReason,
  type RequestRejection,
  readBody,
  SIGNATURE_TOLERANCE_SEC,
  withTimeout,
} from "./request-checks.js";

/** Slack wants an answer within 3 s: Redis gets half of that before we give up. */
const REDIS_TIMEOUT_MS = 1500;

export interface SlackReceiverOptions {
  signingSecret: string;
  logger: Logger;
  /** Bolt's logger (for Bolt's own ack and error helpers). */
  boltLogger: BoltLogger;
  /** Replay memory and recorded clicks live here, under the queue prefix. */
  redis: Redis;
  prefix: string;
  /** Bodies above this many bytes get 413 before they are buffered (1 MiB). */
  maxBodyBytes?: number;
  /** GET routes beside the endpoint (health, metrics). */
  routes?: CustomRoute[];
  /** Every refused request, described without its body (the audit trail). */
  onRejected?: (rejection: RequestRejection) => void;
  clicks?: Pick<
    ClickEdgeOptions,
    "lockMs" | "concurrency" | "maxHoldMs" | "drainMs" | "telemetry" | "presence"
  > & {
    /** `shared` (default): clicks are done here while no `clicks` process is running. */
    work?: ClickWork;
  };
  /** Bolt answers 404 when a listener has not acked within this long (3001 ms, as Bolt). */
  unhandledRequestTimeoutMs?: number;
  endpoint?: string;
  nowMs?: () => number;
}

export class SlackReceiver implements Receiver {
  private app: App | undefined;
  private server: Server | undefined;
  private readonly clicks: ClickEdge;
  private readonly routes: ReceiverRoutes;
  private readonly endpoint: string;
  private readonly maxBytes: number;
  private readonly nowMs: () => number;

  constructor(private readonly options: SlackReceiverOptions) {
    this.endpoint = options.endpoint ?? "/slack/events";
    this.maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.nowMs = options.nowMs ?? Date.now;
    this.routes = buildReceiverRoutes(options.routes ?? []);
    this.clicks = createClickEdge({
      connection: options.redis,
      prefix: options.prefix,
      logger: options.logger,
      ...options.clicks,
    });
  }

  init(app: App): void {
    this.app = app;
  }

  /**
   * Listens, and starts doing recorded clicks (listeners are registered by now): while no
   * `clicks` process does them, unless `clicks.work` says `dedicated`.
   */
  async start(port = 3000): Promise<Server> {
    if (this.server) throw new Error("the Slack receiver is already started");
    const server = createServer((req, res) => this.route(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, () => {
        server.off("error", reject);
        resolve();
      });
    });
    if (this.app) await this.clicks.start(this.app, this.options.clicks?.work);
    return server;
  }

  /** Does recorded clicks without listening: the `clicks` role (listeners registered by now). */
  async startClickWork(): Promise<void> {
    if (!this.app) throw new Error("the Slack receiver was not initialised with an app");
    await this.clicks.start(this.app, "dedicated");
  }

  /** Stops listening, answers what it holds, then waits (bounded) for the clicks it acked. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.clicks.stop();
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req);
    const method = (req.method ?? "GET").toUpperCase();
    if (path === this.endpoint && method === "POST") {
      void this.serve(req, res, path);
      return;
    }
    const handler = this.routes[path]?.[method];
    if (!handler) {
      res.writeHead(404);
      res.end();
      return;
    }
    Promise.resolve()
      .then(() => handler(Object.assign(req, { params: {} }), res))
      .catch((error: unknown) => {
        this.options.logger.error({ err: error, path }, "route failed");
        answer(res, 500, "Internal error.");
      });
  }

  private async serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const arrived = performance.now();
    res.once("finish", () =>
      metrics.slackAcks.observe(
        { status: String(res.statusCode) },
        (performance.now() - arrived) / 1000,
      ),
    );
    this.clicks.arrived(res);
    try {
      await this.verifyAndDispatch(req, res, path);
    } catch (error) {
      this.options.logger.error({ err: error, path }, "Slack request failed at the edge; 503");
      answer(res, 503, "Temporarily unable to take the request; try again.");
    }
  }

  private async verifyAndDispatch(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
  ): Promise<void> {
    const refuse = (reason: RejectionReason, contentLength: number | null) => {
      this.options.onRejected?.(describeRejection(req, path, reason, contentLength));
      answer(
        res,
        REJECTION_STATUS[reason],
        REJECTION_MESSAGES[reason](this.maxBytes),
        reason === "too_large",
      );
    };
    const declared = declaredLength(req);
    if (declared !== null && declared > this.maxBytes) return refuse("too_large", declared);
    const raw = await readBody(req, this.maxBytes);
    if (raw === "too_large") return refuse("too_large", declared);
    const length = declared ?? raw.length;
    // Unsigned by design; nothing else in it is looked at.
    if (isSslCheck(req, raw)) return HTTPModuleFunctions.buildSSLCheckResponse(res);

    const now = this.nowMs();
    const checked = checkSignature(req, raw, this.options.signingSecret, now);
    if (!checked.ok) return refuse(checked.reason, length);
    // Remembered until its timestamp leaves the window, when it would be refused anyway.
    const ttlMs = Math.max(1000, (checked.timestampSec + SIGNATURE_TOLERANCE_SEC) * 1000 - now);
    if (!(await this.firstSighting(checked.hash, ttlMs + 1000))) return refuse("replayed", length);

    const buffered = Object.assign(req, { rawBody: raw }) as BufferedIncomingMessage;
    // biome-ignore lint/suspicious/noExplicitAny: Slack's bodies are whatever Slack sent
    let body: Record<string, any>;
    try {
      body = HTTPModuleFunctions.parseHTTPRequestBody(buffered);
    } catch (error) {
      this.options.logger.warn({ err: error, path }, "malformed Slack request body; 400");
      return HTTPModuleFunctions.buildNoBodyResponse(res, 400);
    }
    if (!body || typeof body !== "object" || Array.isArray(body))
      return HTTPModuleFunctions.buildNoBodyResponse(res, 400);
    if (body.type === "url_verification")
      return HTTPModuleFunctions.buildUrlVerificationResponse(res, body);
    if (body.type === "block_actions") {
      await this.clicks.record(body, checked.hash);
      return HTTPModuleFunctions.buildNoBodyResponse(res, 200);
    }
    await this.dispatch(buffered, res, body);
  }

  /** As Bolt's HTTPReceiver: the listener's ack writes the answer; none within ~3 s is a 404. */
  // biome-ignore lint/suspicious/noExplicitAny: Slack's bodies are whatever Slack sent
  private async dispatch(req: BufferedIncomingMessage, res: ServerResponse, body: any) {
    const logger = this.options.boltLogger;
    const ack = new HTTPResponseAck({
      logger,
      processBeforeResponse: false,
      unhandledRequestTimeoutMillis: this.options.unhandledRequestTimeoutMs ?? 3001,
      httpRequest: req,
      httpRequestBody: body,
      httpResponse: res,
    });
    if (!this.app) throw new Error("the Slack receiver was not initialised with an app");
    try {
      await this.app.processEvent({
        body,
        ack: ack.bind(),
        retryNum: HTTPModuleFunctions.extractRetryNumFromHTTPRequest(req),
        retryReason: HTTPModuleFunctions.extractRetryReasonFromHTTPRequest(req),
        customProperties: {},
      });
    } catch (error) {
      const acked = await HTTPModuleFunctions.defaultProcessEventErrorHandler({
        error: error as Error,
        logger,
        request: req,
        response: res,
        storedResponse: ack.storedResponse,
      });
      if (acked) ack.ack();
    }
  }

  /** Records a verified signature; false when it was already recorded (a replay). */
  private async firstSighting(hash: string, ttlMs: number): Promise<boolean> {
    const key = [this.options.prefix, "syncdesk-edge", "sig", `v0=${hash}`].join(":");
    const set = this.options.redis.set(key, "1", "PX", ttlMs, "NX");
    return (await withTimeout(set, REDIS_TIMEOUT_MS)) === "OK";
  }
}
