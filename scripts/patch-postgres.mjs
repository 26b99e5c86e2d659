/**
 * postinstall: applies unreleased upstream fixes to postgres.js 3.4.9, each marked in the file
 * it changes so that it is applied once. The fault suite (test/faults/connections.test.ts)
 * reproduces every one of these; test/unit/platform/postgres-patch.test.ts fails when one is
 * missing (this script refuses to touch a file it does not recognise).
 *
 * 1. The write scheduler (porsager/postgres#1154, #1208; PRs #1168, #1176, #1209). A backend
 *    that goes away (restart, failover, pg_terminate_backend) while a small write is buffered
 *    - crashes the process: `nextWrite` runs from setImmediate after `closed()` nulled the
 *      socket, and the TypeError is uncatchable;
 *    - or poisons the connection: the cancelled timer is never reset to null, so later small
 *      writes are never flushed and queries on that connection hang.
 * 2. The array-type fetch on a new connection (porsager/postgres#1192, #1205, #1223). Its
 *    promise is dropped, so a backend terminated while a fresh connection loads its types (a
 *    failover while the pool reconnects) is an unhandled rejection: the process exits. The
 *    error already reaches the waiting query (errored()), which fails and is retried like any
 *    other query on a terminated backend; only the dropped promise needs a handler.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const MARK = "syncdesk patch: porsager/postgres#1154";
const TYPES_MARK = "syncdesk patch: porsager/postgres#1192";
const ROOT = fileURLToPath(new URL("../node_modules/postgres/", import.meta.url));
const FILES = ["src/connection.js", "cjs/src/connection.js", "cf/src/connection.js"];

const WRITE_EDITS = [
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

const TYPES_EDITS = [
  [
    "        return fetchArrayTypes()\n",
    `        return fetchArrayTypes().catch(() => { /* ${TYPES_MARK}: errored() has it */ })\n`,
  ],
];

const PATCHES = [
  { mark: MARK, edits: WRITE_EDITS },
  { mark: TYPES_MARK, edits: TYPES_EDITS },
];

let problems = 0;
for (const file of FILES) {
  const path = ROOT + file;
  if (!existsSync(path)) continue;
  const original = readFileSync(path, "utf8");
  let text = original;
  for (const { mark, edits } of PATCHES) {
    if (text.includes(mark)) continue;
    if (!edits.every(([from]) => text.includes(from))) {
      console.error(`patch-postgres: ${file} does not look like postgres 3.4.9; not patched.`);
      problems += 1;
      continue;
    }
    for (const [from, to] of edits) text = text.replace(from, to);
  }
  if (text !== original) writeFileSync(path, text);
}
if (problems > 0)
  console.error(
    "patch-postgres: check whether upstream fixed porsager/postgres#1154 and #1192 and drop those.",
  );
