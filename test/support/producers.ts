/** HTTP producers in tests: tokens made by the producers CLI, batches POSTed to /v1/events. */
import { runProducersCli } from "../../src/producers/producers-cli.js";
import type { Harness } from "./harness.js";

export async function producersCli(h: Harness, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runProducersCli(
    argv,
    { ...h.env, ROUTING_FILE: "/nonexistent/routing.yml" },
    { out: (line = "") => out.push(line), err: (line) => err.push(line) },
  );
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** Creates a producer with the CLI and returns the token it printed once. */
export async function newProducer(h: Harness, name: string, ...flags: string[]): Promise<string> {
  const { code, stdout, stderr } = await producersCli(h, "create", name, ...flags);
  const token = /sdp_[A-Za-z0-9_-]{43}/.exec(stdout)?.[0];
  if (code !== 0 || !token) throw new Error(`producers create ${name} failed: ${stderr}`);
  return token;
}

export interface Posted {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: the answer is JSON the test inspects
  body: any;
}

/** POSTs a body (an object is sent as JSON; a string as is) to the web process's /v1/events. */
export async function postEvents(
  h: Harness,
  token: string | null,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Posted> {
  const response = await fetch(`http://127.0.0.1:${h.bot.port}/v1/events`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the test sees the text.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** A batch of failure events as HTTP items. */
export const failed = (data: unknown) => ({ name: "sync.failed", data });
