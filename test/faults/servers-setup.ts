/**
 * The private servers' safety net (test/faults/servers.ts): every one of them keeps its data
 * and pid file under one directory per run, and this teardown kills whatever is still running
 * there and removes it, even after a test hung or its process died. A run killed before its
 * teardown is cleaned up by the next one (its owner pid is gone).
 */
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

const PREFIX = "syncdesk-faults-";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalPidFile(file: string, signal: NodeJS.Signals): void {
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  if (pid > 0 && alive(pid)) process.kill(pid, signal);
}

/** Kills the servers under a run's directory and removes it. */
function reap(root: string): void {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(root, entry.name);
    signalPidFile(join(dir, "redis.pid"), "SIGKILL");
    // SIGQUIT: the postmaster's immediate shutdown, which takes its backends with it.
    signalPidFile(join(dir, "data", "postmaster.pid"), "SIGQUIT");
  }
  rmSync(root, { recursive: true, force: true });
}

export default function setup(project: TestProject) {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const ownerFile = join(tmpdir(), name, "owner.pid");
    // No owner file yet: a run starting this very moment.
    if (!existsSync(ownerFile)) continue;
    if (!alive(Number(readFileSync(ownerFile, "utf8").trim()))) reap(join(tmpdir(), name));
  }
  const root = mkdtempSync(join(tmpdir(), PREFIX));
  // The postgres user must reach its cluster's directory inside.
  chmodSync(root, 0o755);
  writeFileSync(join(root, "owner.pid"), String(process.pid));
  project.provide("faultServersRoot", root);
  return () => reap(root);
}

declare module "vitest" {
  export interface ProvidedContext {
    faultServersRoot: string;
  }
}
