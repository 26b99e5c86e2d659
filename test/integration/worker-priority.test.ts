/**
 * A worker-only process lowers its own CPU priority (WORKER_NICENESS, 10 by default), so a
 * web process on the same host answers Slack first when the CPU is short; a process with both
 * roles, or WORKER_NICENESS=0, keeps the priority it was started with.
 */
import type { ChildProcess } from "node:child_process";
import { getPriority } from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { killHard, SLA_ROUTING, spawnWorker } from "../support/sla.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({ routingFile: SLA_ROUTING, roles: ["web"] });
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) await killHard(child);
});

/** `src/main.ts` with these roles and settings; its niceness once it serves. */
async function nicenessOf(
  roles: string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  const child = spawnWorker(h, SLA_ROUTING, { roles, env: { PORT: "0", ...env } });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.on("message", (message: { type?: string }) => {
      if (message?.type === "syncdesk.ready") resolve();
    });
    child.once("exit", (code) => reject(new Error(`${roles.join("+")} exited ${code}`)));
  });
  return getPriority(child.pid as number);
}

/** This runner's niceness plus `n`, as the kernel caps it. */
const lowered = (n: number) => Math.min(19, getPriority() + n);

describe("the worker's CPU priority", () => {
  it("is lowered to WORKER_NICENESS in a worker-only process, 10 by default", async () => {
    expect(await nicenessOf(["worker"], { WORKER_NICENESS: undefined })).toBe(lowered(10));
    expect(await nicenessOf(["worker"], { WORKER_NICENESS: "5" })).toBe(lowered(5));
  });

  it("is left alone with WORKER_NICENESS=0 and when the process also serves Slack", async () => {
    expect(await nicenessOf(["worker"], { WORKER_NICENESS: "0" })).toBe(getPriority());
    expect(await nicenessOf(["web", "worker"], { WORKER_NICENESS: undefined })).toBe(getPriority());
  });

  it("refuses a niceness outside 0-19: the process does not start", async () => {
    await expect(nicenessOf(["worker"], { WORKER_NICENESS: "25" })).rejects.toThrow(/exited 1/);
  });
});
