/** How checklist lines say things: counts, names of clients, links to the cards to open. */
import { escapeMrkdwn } from "../platform/slack/mrkdwn.js";
import type { CardRef } from "./figures.js";

export interface ChecklistLink {
  label: string;
  channel: string;
  ts: string;
}

export const MAX_NAMED = 5;
const MAX_LINKS = 3;

export function cardLinks(
  rows: readonly Pick<CardRef, "id" | "channel" | "cardTs" | "openedAt">[],
): ChecklistLink[] {
  return [...rows]
    .sort((a, b) => a.openedAt.getTime() - b.openedAt.getTime() || a.id - b.id)
    .flatMap((row) =>
      row.cardTs ? [{ label: `EX-${row.id}`, channel: row.channel, ts: row.cardTs }] : [],
    )
    .slice(0, MAX_LINKS);
}

export function perRole(rows: readonly { role: string }[]): string {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.role, (counts.get(row.role) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([role, n]) => `${role} ${n}`)
    .join(", ");
}

export function named(names: string[]): string {
  // Client names come from producers' events: escaped, and no backtick can end the code span.
  const shown = names
    .slice(0, MAX_NAMED)
    .map((name) => `\`${escapeMrkdwn(name.replaceAll("`", "'"))}\``);
  return names.length > MAX_NAMED
    ? `${shown.join(", ")} and ${names.length - MAX_NAMED} more`
    : shown.join(", ");
}

export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}
