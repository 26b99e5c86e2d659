/**
 * A worker-only process lowers its own CPU priority (WORKER_NICENESS, 10 by default), so a
 * web process on the same host answers Slack first when the CPU is short; a process with both
 * roles, or WORKER_NICENESS=0, keeps the priority it was started with. One that leads its own
 * session lowers that session's scheduling group (Linux autogroup) as well.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { getPriority } from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { killHard, SLA_ROUTING, spawnWorker } from "../support/sla.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness({ routingFile: SLA_ROUTING, roles: ["web"] });
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) await killHard(child);
});

/** `src/main.ts` with these roles and settings, once it serves. */
async function started(
  roles: string[],
  env: Record<string, string | undefined>,
  ownSession = false,
): Promise<number> {
  const child = spawnWorker(h, SLA_ROUTING, { roles, env: { PORT: "0", ...env }, ownSession });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.on("message", (message: { type?: string }) => {
      if (message?.type === "syncdesk.ready") resolve();
    });
    child.once("exit", (code) => reject(new Error(`${roles.join("+")} exited ${code}`)));
  });
  return child.pid as number;
}

/** Its niceness once it serves. */
const nicenessOf = async (roles: string[], env: Record<string, string | undefined>) =>
  getPriority(await started(roles, env));

/** The niceness of a process's autogroup (Linux: its session's share of the CPU); null without. */
function autogroupNice(pid: number | "self"): number | null {
  try {
    return Number(/nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, "utf8"))?.[1]);
  } catch {
    return null;
  }
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

  // A session of its own is scheduled as a group, against every other session alike, whatever
  // the niceness inside it: the worker lowers its group, or it would yield to no one.
  it("lowers its session's group too when it leads a session of its own, and only then", async () => {
    const runner = autogroupNice("self");
    const alone = await started(["worker"], { WORKER_NICENESS: undefined }, true);
    expect(getPriority(alone)).toBe(lowered(10));
    expect(autogroupNice(alone)).toBe(runner === null ? null : 10);
    // Sharing the runner's session (as a web process may), it leaves the group alone.
    const shared = await started(["worker"], { WORKER_NICENESS: undefined });
    expect(autogroupNice(shared)).toBe(runner);
  });

  it("refuses a niceness outside 0-19: the process does not start", async () => {
    await expect(nicenessOf(["worker"], { WORKER_NICENESS: "25" })).rejects.toThrow(/exited 1/);
  });
});
