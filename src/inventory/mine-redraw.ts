/**
 * `/inventory mine` is an ephemeral list with card buttons: after a click in it the list is
 * drawn again from the rows (through the click's response_url, `replace_original`), so no
 * stale Claim stays on something just claimed. Handed to the exception listeners by the
 * composition root (exceptions may not import this feature).
 */
import type { Deps } from "../app/deps.js";
import { mineReport } from "./inventory.service.js";
import { linkerFor } from "./links.js";
import { renderMine } from "./queue.view.js";

/** The block ids of the list's items start with these (queue.view.ts `itemList`). */
const MINE_LISTS = ["mine-held-", "mine-risk-"];

export async function redrawMineList(
  deps: Deps,
  userId: string,
  blockId: string,
): Promise<{ text: string; blocks: object[] } | null> {
  if (!MINE_LISTS.some((prefix) => blockId.startsWith(prefix))) return null;
  const [report, link] = await Promise.all([mineReport(deps, userId), linkerFor(deps)]);
  return renderMine(report, link);
}
