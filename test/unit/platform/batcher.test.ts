import { describe, expect, it } from "vitest";
import { createBatcher, type Settled } from "../../../src/platform/queue/batcher.js";

/** A runner whose batches finish when the test says so. */
function gated() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = async (items: readonly number[]): Promise<Settled<number>[]> => {
    batches.push([...items]);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((item) =>
      item < 0 ? { ok: false, error: new Error(`bad ${item}`) } : { ok: true, value: item * 10 },
    );
  };
  return { batches, gates, run };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("the batcher", () => {
  it("runs one item alone at once, without waiting for company", async () => {
    const runner = gated();
    const batcher = createBatcher({ maxItems: 50, run: runner.run });
    const result = batcher.submit(1);
    await settle();
    expect(runner.batches).toEqual([[1]]);
    runner.gates.shift()?.();
    await expect(result).resolves.toBe(10);
  });

  it("gathers what arrives while a batch runs into the next one, up to maxItems", async () => {
    const runner = gated();
    const batcher = createBatcher({ maxItems: 3, run: runner.run });
    const results = [batcher.submit(1)];
    await settle();
    for (const item of [2, 3, 4, 5, 6]) results.push(batcher.submit(item));
    await settle();
    expect(runner.batches).toEqual([[1]]);
    expect(batcher.size).toBe(6);
    runner.gates.shift()?.();
    await settle();
    await settle();
    expect(runner.batches).toEqual([[1], [2, 3, 4]]);
    runner.gates.shift()?.();
    await settle();
    await settle();
    runner.gates.shift()?.();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(runner.batches).toEqual([[1], [2, 3, 4], [5, 6]]);
    expect(batcher.size).toBe(0);
  });

  it("runs up to maxInFlight batches side by side", async () => {
    const runner = gated();
    const batcher = createBatcher({ maxItems: 2, maxInFlight: 2, run: runner.run });
    const results = [1, 2, 3, 4, 5].map((item) => batcher.submit(item));
    await settle();
    expect(runner.batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    runner.gates.shift()?.();
    await settle();
    await settle();
    expect(runner.batches).toEqual([[1, 2], [3, 4], [5]]);
    for (const gate of runner.gates.splice(0)) gate();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50]);
  });

  it("fails only the items the runner failed, and every item when the runner throws", async () => {
    const runner = gated();
    const batcher = createBatcher({ maxItems: 10, run: runner.run });
    const good = batcher.submit(1);
    const bad = batcher.submit(-1);
    await settle();
    runner.gates.shift()?.();
    await expect(good).resolves.toBe(10);
    await expect(bad).rejects.toThrow("bad -1");

    const broken = createBatcher<number, number>({
      maxItems: 10,
      run: async () => {
        throw new Error("database gone");
      },
    });
    const both = [broken.submit(1), broken.submit(2)];
    for (const result of both) await expect(result).rejects.toThrow("database gone");
    // It keeps taking items afterwards.
    await expect(broken.submit(3)).rejects.toThrow("database gone");
  });
});
