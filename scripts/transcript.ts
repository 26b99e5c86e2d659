/** Renders Block Kit the fake Slack recorded as plain text, for the demo's transcript. */

type Json = Record<string, unknown>;

export function plain(text: string, names: Record<string, string>): string {
  return text
    .replace(/<!date\^\d+\^[^|]*\|([^>]*)>/g, "$1")
    .replace(/<@([A-Z0-9]+)>/g, (_m, id: string) => `@${names[id] ?? id}`)
    .replace(
      /<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>/g,
      (_m, id: string, label?: string) => label ?? `@${id}`,
    )
    .replace(/<([^|>]+)\|([^>]+)>/g, "$2 ($1)")
    .replace(/:[a-z_]+:/g, (emoji) => EMOJI[emoji] ?? emoji)
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}

const EMOJI: Record<string, string> = {
  ":large_yellow_circle:": "○",
  ":raising_hand:": "✋",
  ":arrows_counterclockwise:": "↻",
  ":white_check_mark:": "✔",
  ":warning:": "⚠",
  ":repeat:": "↻",
  ":no_entry:": "⛔",
  ":x:": "✖",
  ":leftwards_arrow_with_hook:": "↩",
  ":large_orange_circle:": "●",
  ":red_circle:": "●",
  ":large_blue_circle:": "●",
  ":white_circle:": "○",
};

export function renderMessage(message: Json, names: Record<string, string>, indent = "  "): string {
  const blocks = (message.blocks as Json[] | undefined) ?? [];
  if (blocks.length === 0) return `${indent}${plain(String(message.text ?? ""), names)}`;
  const lines: string[] = [];
  for (const block of blocks) {
    const text = (block.text as Json | undefined)?.text as string | undefined;
    switch (block.type) {
      case "header":
        lines.push(`┌ ${text}`);
        break;
      case "section": {
        if (text) lines.push(...plain(text, names).split("\n"));
        // Section fields are text objects ({ type: "mrkdwn", text }).
        const fields = ((block.fields as Json[] | undefined) ?? []).map((field) =>
          String(field.text ?? ""),
        );
        for (let i = 0; i < fields.length; i += 2) {
          const pair = fields
            .slice(i, i + 2)
            .map((field) => plain(field, names).replace("\n", ": ").replaceAll("\n", " · "));
          lines.push(pair.map((cell) => cell.padEnd(44)).join(" "));
        }
        break;
      }
      case "context":
        for (const element of (block.elements as Json[]) ?? [])
          lines.push(plain(String(element.text ?? ""), names));
        break;
      case "actions":
        lines.push(
          ((block.elements as Json[]) ?? [])
            .map((el) => `[${(el.text as Json | undefined)?.text ?? el.type}]`)
            .join(" "),
        );
        break;
      default:
        break;
    }
  }
  return lines.map((line) => `${indent}│ ${line}`.trimEnd()).join("\n");
}
