/**
 * Group commit for job handlers. Each job hands its item to the batcher and waits for its own
 * outcome; the batcher runs what has gathered as one batch (one transaction, multi-row
 * statements), so a queue drained at concurrency N costs a few statements per batch instead
 * of a few per job.
 *
 * Nothing waits for a timer: when no batch is running, an item starts one at once (after the
 * current turn of the event loop, so jobs that arrived together go together); while a batch
 * runs, items gather for the next one, up to `maxItems`. One event at a time so goes through
 * as fast as it did alone, and a flood forms batches as large as the database is slow.
 */

export type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface Batcher<I, O> {
  /** Resolves (or rejects) with this item's own outcome once its batch has run. */
  submit(item: I): Promise<O>;
  /** Items waiting or running. */
  readonly size: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export function createBatcher<I, O>(options: {
  /** The most items one batch takes. */
  maxItems: number;
  /** Batches run at once (1: each batch waits for the one before). */
  maxInFlight?: number;
  /**
   * Runs one batch: one outcome per item, in order. A throw fails every item of the batch
   * with that error (the runner settles items one by one when it can tell them apart).
   */
  run(items: readonly I[]): Promise<Settled<O>[]>;
}): Batcher<I, O> {
  const maxInFlight = options.maxInFlight ?? 1;
  if (options.maxItems < 1 || maxInFlight < 1) throw new Error("batcher limits must be ≥ 1");
  let waiting: Waiting<I, O>[] = [];
  let inFlight = 0;
  let running = 0;
  let scheduled = false;

  const schedule = () => {
    if (scheduled || inFlight >= maxInFlight || waiting.length === 0) return;
    scheduled = true;
    setImmediate(drain);
  };

  const drain = () => {
    scheduled = false;
    while (inFlight < maxInFlight && waiting.length > 0) {
      const batch = waiting.slice(0, options.maxItems);
      waiting = waiting.slice(batch.length);
      inFlight++;
      running += batch.length;
      void runBatch(batch).finally(() => {
        inFlight--;
        running -= batch.length;
        schedule();
      });
    }
  };

  const runBatch = async (batch: Waiting<I, O>[]) => {
    let outcomes: Settled<O>[];
    try {
      outcomes = await options.run(batch.map((entry) => entry.item));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
      return;
    }
    batch.forEach((entry, i) => {
      const outcome = outcomes[i];
      if (!outcome) entry.reject(new Error("the batch gave this item no outcome"));
      else if (outcome.ok) entry.resolve(outcome.value);
      else entry.reject(outcome.error);
    });
  };

  return {
    submit: (item) =>
      new Promise<O>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        schedule();
      }),
    get size() {
      return waiting.length + running;
    },
  };
}
