/**
 * Preloaded into a bot child process by bench/bot-shape.ts when profiles are asked for
 * (`--import`): on the parent's IPC messages it starts and stops a CPU profile of this
 * process's event loop through node:inspector. (`--cpu-prof` would not do: it marks the
 * loop idle while it polls, so the work done in I/O callbacks, which is all of a web role's
 * work, shows as idle.)
 */
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";

type Command =
  | { type: "bench.profile.start"; intervalUs: number }
  | { type: "bench.profile.stop"; file: string };

let session: Session | null = null;
process.on("message", (message: Command) => {
  // Other hooks (bench/trips-hook.ts) share the channel: answer only our own commands.
  if (message?.type !== "bench.profile.start" && message?.type !== "bench.profile.stop") return;
  void handle(message).then(
    () => process.send?.({ type: `${message.type}.done` }),
    (error: unknown) => process.send?.({ type: `${message.type}.done`, error: String(error) }),
  );
});
// The bot decides when this process ends; listening to the parent must not keep it alive.
process.channel?.unref();

async function handle(message: Command): Promise<void> {
  if (message.type === "bench.profile.start") {
    session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: message.intervalUs });
    await session.post("Profiler.start");
  } else if (message.type === "bench.profile.stop" && session) {
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    session = null;
    await writeFile(message.file, JSON.stringify(profile));
  }
}
