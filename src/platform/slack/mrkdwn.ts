/**
 * Untrusted text into Slack mrkdwn. Escaping `&`, `<` and `>` is what Slack asks for, and it
 * defuses `<!channel>`, `<@U…>` and `<url|label>` in one go. Everything a producer or a user
 * typed passes through here before it reaches a mrkdwn field.
 */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** Cuts text to `max` characters (counted as Slack counts, by UTF-16 units) with an ellipsis. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  // Never leave half of a surrogate pair at the end.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Escape, then cut: the cut never splits an entity like `&amp;`. */
export function safeText(text: string, max: number): string {
  const escaped = escapeMrkdwn(text);
  if (escaped.length <= max) return escaped;
  let cut = truncate(escaped, max);
  cut = cut.replace(/&[a-z]{0,3}…$/, "…");
  return cut;
}

/** A link whose label is escaped and whose URL cannot close the link or start another. */
export function mrkdwnLink(url: string, label: string): string {
  const safeUrl = url
    .replaceAll("&", "&amp;")
    .replaceAll("<", "%3C")
    .replaceAll(">", "%3E")
    .replaceAll("|", "%7C");
  const safeLabel = escapeMrkdwn(label).replaceAll("|", "¦");
  return `<${safeUrl}|${safeLabel}>`;
}

/** Slack's date formatting: each reader sees their own time zone; the fallback is UTC. */
export function slackDate(date: Date, format = "{date_short_pretty} {time}"): string {
  const epoch = Math.floor(date.getTime() / 1000);
  const fallback = `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return `<!date^${epoch}^${format}|${fallback}>`;
}

export function mention(userId: string): string {
  return /^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}

/** Modal field errors are plain text: drop mrkdwn bold markers and mentions' brackets. */
export function stripMrkdwn(text: string): string {
  return text.replaceAll("*", "").replace(/<@([A-Z0-9]+)>/g, "@$1");
}
