/**
 * Snapshot files for `npm run snapshot:import`: CSV (`sku,quantity[,location]`, an optional
 * header line) or NDJSON (one `{ "sku", "quantity", "location"? }` per line), read line by line
 * from a stream so a file of millions of lines never sits in memory. Each line is checked with
 * the snapshot contract's item schema.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import {
  type SnapshotItem,
  snapshotItemSchema,
} from "../platform/contracts/snapshot-part.schema.js";

export type FileFormat = "csv" | "ndjson";

export type LineResult =
  | { kind: "item"; item: SnapshotItem }
  | { kind: "skip" }
  | { kind: "error"; message: string };

/** The format a file name says; null when it says none (then the first line decides). */
export function formatOfName(path: string): FileFormat | null {
  if (/\.csv$/i.test(path)) return "csv";
  if (/\.(nd)?jsonl?$/i.test(path) || /\.ndjson$/i.test(path)) return "ndjson";
  return null;
}

/** Splits one CSV line (RFC 4180 quoting, no line breaks inside fields). */
export function splitCsvLine(line: string): string[] | null {
  const fields: string[] = [];
  let field = "";
  let i = 0;
  let quoted = false;
  while (i < line.length) {
    const char = line[i] as string;
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"' && field === "") quoted = true;
    else if (char === ",") {
      fields.push(field);
      field = "";
    } else field += char;
    i += 1;
  }
  if (quoted) return null;
  fields.push(field);
  return fields;
}

const HEADER = /^\s*"?sku"?\s*,\s*"?quantity"?\s*(,\s*"?location"?\s*)?$/i;

/** One line of a snapshot file; `first` says it may be a CSV header. */
export function parseLine(line: string, format: FileFormat, first: boolean): LineResult {
  if (line.trim() === "") return { kind: "skip" };
  let candidate: unknown;
  if (format === "ndjson") {
    try {
      candidate = JSON.parse(line);
    } catch {
      return { kind: "error", message: "not a JSON object" };
    }
  } else {
    if (first && HEADER.test(line)) return { kind: "skip" };
    const fields = splitCsvLine(line.replace(/\r$/, ""));
    if (!fields) return { kind: "error", message: "unclosed quote" };
    if (fields.length < 2 || fields.length > 3)
      return {
        kind: "error",
        message: `expected sku,quantity[,location], got ${fields.length} fields`,
      };
    const [sku, quantity, location] = fields as [string, string, string | undefined];
    const text = quantity.trim();
    candidate = {
      sku,
      // Number("") is 0: an empty quantity must stay empty and be refused.
      quantity: text === "" ? undefined : /^[+-]?\d+(\.\d+)?$/.test(text) ? Number(text) : text,
      ...(location !== undefined && location.trim() !== "" ? { location } : {}),
    };
  }
  const parsed = snapshotItemSchema.safeParse(candidate);
  if (parsed.success) return { kind: "item", item: parsed.data };
  return {
    kind: "error",
    message: parsed.error.issues
      .map((issue) => `${issue.path.join(".") || "line"} ${issue.message}`)
      .join("; "),
  };
}

/** Every line of a file, parsed, with its 1-based line number; streamed. */
export async function* readSnapshotFile(
  path: string,
  format: FileFormat | null,
): AsyncGenerator<LineResult & { line: number }> {
  const lines = createInterface({
    input: createReadStream(path),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let number = 0;
  let decided = format;
  for await (const line of lines) {
    number += 1;
    if (decided === null && line.trim() !== "")
      decided = line.trimStart().startsWith("{") ? "ndjson" : "csv";
    if (decided === null) continue;
    yield { ...parseLine(line, decided, number === 1), line: number };
  }
}
