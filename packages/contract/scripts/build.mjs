/**
 * Compiles src/ to dist/ (JavaScript and .d.ts) with the TypeScript compiler.
 *
 * `prepare` runs it on every install of the desk's workspace, `npm ci --omit=dev` included,
 * where TypeScript is not installed: with `--if-needed` it then keeps the dist/ that
 * `npm run build` made, and fails only when there is none. `prepack` (npm pack, npm publish)
 * and a git install (which installs devDependencies first) always compile afresh.
 */
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const ifNeeded = process.argv.includes("--if-needed");
let tsc;
try {
  tsc = createRequire(`${root}/package.json`).resolve("typescript/bin/tsc");
} catch {
  if (ifNeeded && existsSync(`${root}/dist/index.js`)) {
    console.log("@syncdesk/contract: no TypeScript here (production install); dist/ kept as built");
    process.exit(0);
  }
  console.error("@syncdesk/contract: TypeScript is needed to build dist/ (npm install it)");
  process.exit(1);
}
rmSync(`${root}/dist`, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", `${root}/tsconfig.json`], { stdio: "inherit" });
