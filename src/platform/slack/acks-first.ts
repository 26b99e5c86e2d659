/**
 * Acks before work. Slack wants every interaction acknowledged within 3 s, and a burst of
 * clicks (a storm card in a busy channel) arrives at one event loop at once: if each click's
 * database work starts right after its own ack, the 200th click waits behind 199 transactions
 * being built and parsed. The web role counts the requests it has not answered yet
 * (trackRequests wraps the HTTP listener); listeners `await acksFirst()` after `ack()` and
 * before their work, so that work starts once no request is waiting for its answer, or after
 * `maxWaitMs` when requests never stop coming.
 *
 * Process-wide on purpose: it describes this process's event loop, like its metrics registry.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";

/** How long work after an ack waits at most for the other requests' answers. */
export const ACKS_FIRST_MAX_WAIT_MS = 250;

let unanswered = 0;
let waiters: (() => void)[] = [];

/** Wraps an HTTP request listener: each request counts as unanswered until its response ends. */
export function trackRequests(inner: RequestListener): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    unanswered++;
    let done = false;
    const answered = () => {
      if (done) return;
      done = true;
      unanswered--;
      if (unanswered === 0) release();
    };
    // finish: the response was handed to the OS; close: the client went away first.
    res.once("finish", answered);
    res.once("close", answered);
    inner(req, res);
  };
}

/**
 * Resolves once this process has answered every request it has received (looking again after
 * the I/O already waiting has run), or after `maxWaitMs`.
 */
export function acksFirst(maxWaitMs = ACKS_FIRST_MAX_WAIT_MS): Promise<void> {
  return new Promise((resolve) => {
    // setImmediate: requests whose bytes have arrived but not been read yet get counted first.
    setImmediate(() => {
      if (unanswered === 0) return resolve();
      const timer = setTimeout(() => {
        waiters = waiters.filter((waiter) => waiter !== wake);
        resolve();
      }, maxWaitMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      waiters.push(wake);
    });
  });
}

/** How many requests this process has received and not answered (tests, metrics). */
export function unansweredRequests(): number {
  return unanswered;
}

function release(): void {
  const ready = waiters;
  waiters = [];
  for (const wake of ready) wake();
}
