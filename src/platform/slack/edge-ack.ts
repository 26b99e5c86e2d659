/**
 * Button clicks are acknowledged at the edge. A `block_actions` request wants an empty 200 and
 * nothing more (every listener of ours acks a click before doing its work), and Slack shows
 * the clicker an error if that answer is late. One web process has one event loop: through
 * Bolt's receiver, each ack in a burst of clicks also waited for the dispatch and the database
 * work of the clicks before it.
 *
 * So, once the request guard has verified a request (size, signature, timestamp, replay), a
 * click is answered at once and its payload queued. The queue is handed to Bolt's
 * `app.processEvent` (its entry point for receivers) one click per turn of the event loop, and
 * only while no request to the endpoint is waiting for its answer, or once the oldest click
 * has waited `maxHoldMs`: acks first, work right after. Forms, commands, events and anything
 * this does not recognise go through Bolt's receiver as before: their ack can carry an answer.
 */
import type { IncomingMessage, RequestListener } from "node:http";
import { parse as parseQuery } from "node:querystring";
import type { App } from "@slack/bolt";
import type { Logger } from "../logger.js";

type WithRawBody = IncomingMessage & { rawBody?: Buffer };

export interface ClickEdge {
  /** Outermost: counts POSTs from their arrival until they are answered (or dropped). */
  count(listener: RequestListener): RequestListener;
  /** Behind the guard: acks verified clicks and queues them; passes anything else on. */
  ack(listener: RequestListener): RequestListener;
}

export function createClickEdge(
  app: Pick<App, "processEvent">,
  logger: Logger,
  options: { maxHoldMs?: number } = {},
): ClickEdge {
  const maxHoldMs = options.maxHoldMs ?? 1000;
  const queued: { click: Record<string, unknown>; at: number }[] = [];
  let unanswered = 0;
  let scheduled = false;
  let holding = false;

  const schedule = () => {
    if (scheduled || queued.length === 0) return;
    scheduled = true;
    setImmediate(dispatchNext);
  };

  function dispatchNext(): void {
    scheduled = false;
    const next = queued[0];
    if (!next) return;
    const held = performance.now() - next.at;
    if (unanswered > 0 && held < maxHoldMs) {
      // The last answer schedules again; so does the hold limit, if answers keep coming.
      if (!holding) {
        holding = true;
        setTimeout(() => {
          holding = false;
          schedule();
        }, maxHoldMs - held);
      }
      return;
    }
    queued.shift();
    app
      .processEvent({ body: next.click, ack: async () => {} })
      .catch((error: unknown) =>
        logger.error({ err: error, actions: actionIds(next.click) }, "click listener failed"),
      );
    schedule();
  }

  return {
    count: (listener) => (req, res) => {
      if (req.method !== "POST") return listener(req, res);
      unanswered += 1;
      res.once("close", () => {
        unanswered -= 1;
        if (unanswered === 0) schedule();
      });
      return listener(req, res);
    },
    ack: (listener) => (req, res) => {
      const click = clickPayload(req as WithRawBody);
      if (!click) return listener(req, res);
      res.writeHead(200);
      res.end();
      queued.push({ click, at: performance.now() });
      schedule();
    },
  };
}

/** The parsed payload of a verified `block_actions` request, or null for anything else. */
function clickPayload(req: WithRawBody): Record<string, unknown> | null {
  // Bolt parses a form only under this exact content type; so does the edge.
  if (!req.rawBody || req.headers["content-type"] !== "application/x-www-form-urlencoded")
    return null;
  const { payload } = parseQuery(req.rawBody.toString("utf8"));
  if (typeof payload !== "string") return null;
  try {
    const body: unknown = JSON.parse(payload);
    if (!body || typeof body !== "object" || Array.isArray(body)) return null;
    return (body as { type?: unknown }).type === "block_actions"
      ? (body as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function actionIds(body: Record<string, unknown>): string[] {
  const actions = Array.isArray(body.actions) ? body.actions : [];
  return actions.map((a: { action_id?: unknown }) => String(a?.action_id ?? "")).slice(0, 5);
}
