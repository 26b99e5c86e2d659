/**
 * The HTTP way in for producers not on BullMQ: `POST /v1/events` and its OpenAPI document
 * `GET /v1/openapi.json`, served by the web process beside /slack/events but never through
 * Bolt's Slack signature check (a producer is no Slack). Transport only: the bearer token, the
 * body limit, the batch's shape and the producer's rate are checked here, in that order; the
 * items are judged and stored by http-intake.service.ts.
 *
 * Every refusal is JSON `{ "error": { "code", "message" } }`; the token never reaches a log.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Deps } from "../app/deps.js";
import type { Logger } from "../platform/logger.js";
import { metrics } from "../platform/metrics.js";
import { declaredLength, readBody } from "../platform/slack/request-checks.js";
import { batchShapeProblem } from "./http-batch.js";
import { takeEvents } from "./http-intake.service.js";
import { openApiDocument } from "./openapi.js";
import { type ProducerRate, takeFromBucket } from "./producer-rate.js";
import { bearerToken, tokenSha256 } from "./producer-token.js";
import { producerByTokenHash } from "./producers.repo.js";

export interface HttpIntakeOptions {
  maxBodyBytes: number;
  rate: ProducerRate;
}

export interface HttpRoute {
  path: string;
  method: string[];
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

const TOKEN_MESSAGES = {
  missing_token: "Send the producer's token as Authorization: Bearer sdp_….",
  malformed_token: "That is not a syncdesk producer token (sdp_ and 43 more characters).",
  unknown_token: "No producer has this token.",
  revoked_token: "This producer's token was revoked; ask the desk's admins for a new one.",
} as const;

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    ...headers,
  });
  res.end(JSON.stringify(body));
}

function refuse(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  metrics.httpRefused.inc({ code });
  json(res, status, { error: { code, message } }, headers);
}

export function httpIntakeRoutes(deps: Deps, options: HttpIntakeOptions): HttpRoute[] {
  const document = JSON.stringify(openApiDocument({ maxBodyBytes: options.maxBodyBytes }));
  const logger = deps.logger.child({ component: "http-intake" });
  return [
    {
      path: "/v1/events",
      method: ["POST"],
      handler: async (req, res) => {
        try {
          await postEvents(deps, options, logger, req, res);
        } catch (error) {
          logger.error({ err: error }, "HTTP intake failed; 503");
          refuse(res, 503, "unavailable", "Temporarily unable to take events; send them again.", {
            "retry-after": "5",
          });
        }
      },
    },
    {
      // The contract is public: no token needed to read it.
      path: "/v1/openapi.json",
      method: ["GET"],
      handler: async (_req, res) => {
        res.writeHead(200, {
          "content-type": "application/json; charset=utf-8",
          "cache-control": "public, max-age=300",
        });
        res.end(document);
      },
    },
  ];
}

async function postEvents(
  deps: Deps,
  options: HttpIntakeOptions,
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  // Refused before the body is read: the connection is closed rather than drained.
  const early = { connection: "close" };
  const bearer = bearerToken(req.headers.authorization);
  const challenge = { "www-authenticate": 'Bearer realm="syncdesk"', ...early };
  if (!bearer.ok) return refuse(res, 401, bearer.reason, TOKEN_MESSAGES[bearer.reason], challenge);
  const producer = await producerByTokenHash(deps.db, tokenSha256(bearer.token));
  if (!producer) return refuse(res, 401, "unknown_token", TOKEN_MESSAGES.unknown_token, challenge);
  if (producer.revokedAt) {
    logger.warn({ producer: producer.name }, "a revoked producer token was used");
    return refuse(res, 401, "revoked_token", TOKEN_MESSAGES.revoked_token, challenge);
  }
  const type = String(req.headers["content-type"] ?? "");
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    return refuse(res, 415, "unsupported_media_type", "Send the batch as application/json.", early);
  }
  const tooLarge = () =>
    refuse(
      res,
      413,
      "too_large",
      `The body is larger than ${options.maxBodyBytes} bytes; send fewer events per request.`,
      early,
    );
  const declared = declaredLength(req);
  if (declared !== null && declared > options.maxBodyBytes) return tooLarge();
  const raw = await readBody(req, options.maxBodyBytes);
  if (raw === "too_large") return tooLarge();
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch (error) {
    return refuse(res, 400, "invalid_json", `The body is not JSON: ${(error as Error).message}`);
  }
  const shape = batchShapeProblem(body);
  if (shape) return refuse(res, 400, shape.code, shape.message);
  const events = (body as { events: unknown[] }).events;
  const waitMs = await takeFromBucket(
    deps.queues.connection,
    deps.queues.prefix,
    producer.id,
    events.length,
    options.rate,
  );
  if (waitMs > 0) {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    logger.info(
      { producer: producer.name, events: events.length, waitMs },
      "producer rate limited",
    );
    return refuse(
      res,
      429,
      "rate_limited",
      `${producer.name} sends faster than ${options.rate.perSecond} events per second (bursts up to ${options.rate.burst}); send this batch again in ${seconds} s.`,
      { "retry-after": String(seconds) },
    );
  }
  const results = await takeEvents(deps, producer, events);
  const count = (status: string) => results.filter((result) => result.status === status).length;
  const summary = {
    accepted: count("accepted"),
    duplicates: count("duplicate"),
    rejected: count("rejected"),
  };
  metrics.httpEvents.inc({ result: "accepted" }, summary.accepted);
  metrics.httpEvents.inc({ result: "duplicate" }, summary.duplicates);
  metrics.httpEvents.inc({ result: "rejected" }, summary.rejected);
  logger.info({ producer: producer.name, ...summary }, "HTTP batch taken");
  json(res, 202, { producer: producer.name, ...summary, results });
}
