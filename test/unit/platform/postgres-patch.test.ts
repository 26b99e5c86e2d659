import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);
const PATCHED_VERSION = "3.4.9";

// patches/postgres+3.4.9.patch, applied by patch-package at postinstall (patches/README.md).
// This fails when the install skipped it (`npm ci --ignore-scripts`) or the driver moved on.
describe("postgres.js patches (patches/postgres+3.4.9.patch)", () => {
  it("patches the exact version the patch was made for", () => {
    // postgres exports no ./package.json: read it next to cjs/src/index.js.
    const root = require.resolve("postgres").replace(/cjs\/src\/index\.js$/, "");
    const manifest = JSON.parse(readFileSync(`${root}package.json`, "utf8"));
    expect(manifest.version).toBe(PATCHED_VERSION);
    const ours = JSON.parse(
      readFileSync(new URL("../../../package.json", import.meta.url), "utf8"),
    );
    expect(ours.dependencies.postgres).toBe(PATCHED_VERSION);
  });

  it("is applied to the driver this project loads, ESM and CommonJS", () => {
    const cjs = require.resolve("postgres");
    const esm = cjs.replace(/cjs\/src\/index\.js$/, "src/index.js");
    for (const index of [cjs, esm]) {
      const connection = readFileSync(index.replace(/index\.js$/, "connection.js"), "utf8");
      expect(connection).toContain("syncdesk patch: porsager/postgres#1154");
      expect(connection).toMatch(/function nextWrite\(fn\) \{\n\s+if \(!socket\)/);
      // A backend terminated while a new connection loads its array types: no unhandled rejection.
      expect(connection).toContain("syncdesk patch: porsager/postgres#1192");
      expect(connection).toMatch(/return fetchArrayTypes\(\)\.catch\(/);
    }
  });
});
