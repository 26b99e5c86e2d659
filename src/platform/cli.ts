/**
 * What the operator CLIs (routes, producers, snapshot:import) share: where they write, who
 * they act as, and their exit codes (0 done, 1 refused, 2 usage).
 */
import { userInfo } from "node:os";

export interface CliOutput {
  out(line?: string): void;
  err(line: string): void;
}

/**
 * Who a shell acts as: its OS user. A shell cannot prove a Slack identity, so what it proposes
 * needs someone in Slack to approve it, and four eyes cannot be walked around from here.
 */
export function cliActor(): string {
  return `cli:${userInfo().username}`;
}

/** The usage, on stderr; exit code 2. */
export function usage(io: Pick<CliOutput, "err">, text: string): number {
  io.err(text);
  return 2;
}

/** Why it was refused, on stderr; exit code 1. */
export function fail(io: Pick<CliOutput, "err">, message: string): number {
  io.err(message);
  return 1;
}

/** Parsed arguments, or null after saying what is wrong with them and the usage. */
export function parsedOrUsage<T>(
  parse: () => T,
  io: Pick<CliOutput, "err">,
  text: string,
): T | null {
  try {
    return parse();
  } catch (error) {
    io.err((error as Error).message);
    io.err(text);
    return null;
  }
}
