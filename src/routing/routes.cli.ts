/** Entry of `npm run routes -- …`; the commands live in routes-cli.ts. */
import { EnvError, loadEnv } from "../env.js";
import { runRoutesCli } from "./routes-cli.js";

try {
  process.exitCode = await runRoutesCli(
    process.argv.slice(2),
    loadEnv(),
    { out: (line = "") => console.log(line), err: (line) => console.error(line) },
    { quiet: !process.env.LOG_LEVEL, breakGlassToken: process.env.SYNCDESK_BREAK_GLASS_TOKEN },
  );
} catch (error) {
  console.error(error instanceof EnvError ? error.message : error);
  process.exitCode = 1;
}
