/**
 * The work a click or a form submission does. A transient database or queue error (a failover,
 * a killed backend, a deadlock) rolled its transaction back, so it is simply tried again; what
 * still fails is logged and the person is told that nothing changed, instead of hearing nothing.
 */
import type { Logger } from "../logger.js";
import { retryTransient } from "../transient.js";

/** What a person hears when Postgres or Redis failed through every attempt. */
export const COULD_NOT =
  "I could not do that just now (our database or queue did not answer). Nothing was changed; try again in a minute.";

/** After the ack the person only waits for the answer: about 4 s of attempts. */
export const AFTER_ACK_DELAYS_MS = [100, 250, 500, 1000, 2000];
/** A form is answered in its ack, and Slack gives up on it after 3 s: under 1 s of attempts. */
export const BEFORE_ACK_DELAYS_MS = [100, 250, 500];

/** Runs `work` (which must be safe to run again), or returns null once it cannot. */
export async function clickWork<T>(
  logger: Logger,
  context: Record<string, unknown>,
  work: () => Promise<T>,
  delaysMs: number[] = AFTER_ACK_DELAYS_MS,
): Promise<T | null> {
  try {
    return await retryTransient(work, { logger, delaysMs, context });
  } catch (error) {
    logger.error({ ...context, err: error }, "click failed");
    return null;
  }
}
