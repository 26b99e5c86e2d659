/** The answer to `/inventory pipelines`, read and rendered (the command lives in src/inventory). */

import type { Deps } from "../app/deps.js";
import type { InventoryCommand } from "../inventory/command-args.js";
import { pipelineReports, pipelineWindows } from "./pipelines.service.js";
import { type Message, renderPipeline, renderPipelines } from "./pipelines.view.js";

export async function pipelinesAnswer(
  deps: Pick<Deps, "db" | "clock" | "routing">,
  command: Extract<InventoryCommand, { kind: "pipelines" }>,
): Promise<Message> {
  const now = deps.clock.now();
  if (command.pipeline !== undefined) {
    return renderPipeline(await pipelineWindows(deps, command.pipeline), now);
  }
  const reports = await pipelineReports(deps, {
    windowMs: command.windowMs,
    ...(command.client !== undefined ? { client: command.client } : {}),
  });
  return renderPipelines(reports, {
    windowLabel: command.windowLabel,
    now,
    ...(command.client !== undefined ? { client: command.client } : {}),
  });
}
