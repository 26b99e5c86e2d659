/** Entry of `npm run producers -- …`; the commands live in producers-cli.ts. */
import { EnvError, loadEnv } from "../env.js";
import { runProducersCli } from "./producers-cli.js";

try {
  process.exitCode = await runProducersCli(
    process.argv.slice(2),
    loadEnv(),
    { out: (line = "") => console.log(line), err: (line) => console.error(line) },
    { quiet: !process.env.LOG_LEVEL },
  );
} catch (error) {
  console.error(error instanceof EnvError ? error.message : error);
  process.exitCode = 1;
}
