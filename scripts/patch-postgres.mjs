/**
 * postinstall: applies the unreleased upstream fix for postgres.js 3.4.9's write scheduler
 * (porsager/postgres#1154, #1208; PRs #1168, #1176, #1209). Without it, a Postgres backend that
 * goes away (restart, failover, pg_terminate_backend) while a small write is buffered
 *   - crashes the process: `nextWrite` runs from setImmediate after `closed()` nulled the
 *     socket, and the TypeError is uncatchable;
 *   - or poisons the connection: the cancelled timer is never reset to null, so later small
 *     writes are never flushed and queries on that connection hang.
 * The fault suite (test/faults/connections.test.ts) reproduces both. Idempotent; refuses to
 * touch a file it does not recognise (test/unit/platform/postgres-patch.test.ts then fails).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const MARK = "syncdesk patch: porsager/postgres#1154";
const ROOT = fileURLToPath(new URL("../node_modules/postgres/", import.meta.url));
const FILES = ["src/connection.js", "cjs/src/connection.js", "cf/src/connection.js"];

const EDITS = [
  [
    "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)",
    `  function nextWrite(fn) {
    if (!socket) { // ${MARK}: the socket closed before this write ran
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`,
  ],
  [
    "    clearImmediate(nextWriteTimer)\n    if (socket) {",
    `    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null // ${MARK}
    if (socket) {`,
  ],
  [
    "    clearImmediate(nextWriteTimer)\n    socket.removeListener('data', data)",
    `    clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null // ${MARK}
    socket.removeListener('data', data)`,
  ],
];

let problems = 0;
for (const file of FILES) {
  const path = ROOT + file;
  if (!existsSync(path)) continue;
  let text = readFileSync(path, "utf8");
  if (text.includes(MARK)) continue;
  for (const [from, to] of EDITS) {
    if (!text.includes(from)) {
      console.error(`patch-postgres: ${file} does not look like postgres 3.4.9; not patched.`);
      problems += 1;
      text = null;
      break;
    }
    text = text.replace(from, to);
  }
  if (text !== null) writeFileSync(path, text);
}
if (problems > 0)
  console.error(
    "patch-postgres: check whether upstream fixed porsager/postgres#1154 and drop this.",
  );
