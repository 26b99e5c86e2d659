import { type Logger, pino } from "pino";

export type { Logger };

/** Paths redacted wherever they appear in a log line: secrets never reach the log. */
const REDACT = [
  "token",
  "*.token",
  "signingSecret",
  "*.signingSecret",
  "SLACK_BOT_TOKEN",
  "SLACK_SIGNING_SECRET",
  "SLACK_APP_TOKEN",
  "headers.authorization",
  "*.headers.authorization",
  'headers["x-slack-signature"]',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { service: "syncdesk" }, redact: { paths: REDACT, censor: "[redacted]" } },
    destination as pino.DestinationStream | undefined,
  );
}

/**
 * The logger for lines about one exception: every line carries `exceptionId`, and `traceId`
 * when the failure event (or the row's latest event) gave one (its `traceId`, or the trace id
 * of its `traceparent`), so a producer's trace can be followed through syncdesk.
 */
export function exceptionLogger(logger: Logger, exceptionId: number, event?: unknown): Logger {
  const fields =
    typeof event === "object" && event !== null
      ? (event as { traceId?: unknown; traceparent?: unknown })
      : {};
  // The producer's traceId, else the trace id of its W3C traceparent (what tracing shows).
  const w3c =
    typeof fields.traceparent === "string"
      ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(fields.traceparent.trim())?.[1]
      : undefined;
  const traceId =
    typeof fields.traceId === "string" && fields.traceId !== "" ? fields.traceId : w3c;
  return logger.child(
    typeof traceId === "string" && traceId !== ""
      ? { exceptionId, traceId: traceId.slice(0, 200) }
      : { exceptionId },
  );
}
