/**
 * Button clicks are acknowledged at the edge. A `block_actions` request wants an empty 200 and
 * nothing more (every listener of ours acks a click before doing its work), and Slack shows
 * the clicker an error if that answer is late. Bolt's receiver would first run the whole
 * dispatch (context, global middleware, every listener's matcher) on the one event loop, so in
 * a burst of clicks each ack also waited for the dispatch of the clicks before it.
 *
 * Once the request guard has verified a request (size, signature, timestamp, replay), a click
 * is answered at once, and its payload is handed to Bolt a turn later with `app.processEvent`
 * (Bolt's entry point for receivers) and an ack that has already happened. Forms, commands,
 * events and anything this does not recognise go through Bolt's receiver as before: their ack
 * can carry an answer.
 */
import type { IncomingMessage, RequestListener } from "node:http";
import { parse as parseQuery } from "node:querystring";
import type { App } from "@slack/bolt";
import type { Logger } from "../logger.js";

type WithRawBody = IncomingMessage & { rawBody?: Buffer };

export function ackClicksAtTheEdge(
  app: Pick<App, "processEvent">,
  logger: Logger,
  inner: RequestListener,
): RequestListener {
  return (req, res) => {
    const click = clickPayload(req as WithRawBody);
    if (!click) return inner(req, res);
    res.writeHead(200);
    res.end();
    setImmediate(() => {
      app
        .processEvent({ body: click, ack: async () => {} })
        .catch((error: unknown) =>
          logger.error({ err: error, actions: actionIds(click) }, "click listener failed"),
        );
    });
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
