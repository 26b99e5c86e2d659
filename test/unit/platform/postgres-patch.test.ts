import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);

describe("postgres.js patches (scripts/patch-postgres.mjs)", () => {
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
