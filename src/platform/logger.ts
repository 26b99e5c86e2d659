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
