/** Entry of `npm run snapshot:import -- …`; the work lives in snapshot-import.ts. */
import { runSnapshotImport } from "./snapshot-import.js";

try {
  process.exitCode = await runSnapshotImport(process.argv.slice(2), process.env, {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  });
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
