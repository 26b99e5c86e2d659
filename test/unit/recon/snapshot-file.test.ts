import { describe, expect, it } from "vitest";
import { formatOfName, parseLine, splitCsvLine } from "../../../src/recon/snapshot-file.js";

describe("snapshot file lines", () => {
  it("reads CSV with quoting, an optional header and an optional location", () => {
    expect(splitCsvLine('"A,1",5,"Lager ""Nord"""')).toEqual(["A,1", "5", 'Lager "Nord"']);
    expect(parseLine("sku,quantity,location", "csv", true)).toEqual({ kind: "skip" });
    expect(parseLine("A-1,5", "csv", true)).toEqual({
      kind: "item",
      item: { sku: "A-1", quantity: 5 },
    });
    expect(parseLine("A-1,5,berlin", "csv", false)).toEqual({
      kind: "item",
      item: { sku: "A-1", quantity: 5, location: "berlin" },
    });
  });

  it("refuses empty SKUs and empty, negative, fractional or non-numeric quantities", () => {
    const message = (line: string) => {
      const result = parseLine(line, "csv", false);
      return result.kind === "error" ? result.message : result.kind;
    };
    expect(message(",5")).toBe("sku must not be empty");
    expect(message("A,")).toBe("quantity must be a number");
    expect(message("A,-1")).toBe("quantity must not be negative");
    expect(message("A,1.5")).toBe("quantity must be a whole number");
    expect(message("A,ten")).toBe("quantity must be a number");
    expect(message("A,1,x,y")).toBe("expected sku,quantity[,location], got 4 fields");
    expect(message('"A,1')).toBe("unclosed quote");
  });

  it("reads NDJSON and says which lines are not objects", () => {
    expect(parseLine('{"sku":"A","quantity":2}', "ndjson", true)).toEqual({
      kind: "item",
      item: { sku: "A", quantity: 2 },
    });
    expect(parseLine("{nope", "ndjson", false)).toEqual({
      kind: "error",
      message: "not a JSON object",
    });
    expect(parseLine("   ", "ndjson", false)).toEqual({ kind: "skip" });
    expect(formatOfName("stock.CSV")).toBe("csv");
    expect(formatOfName("stock.ndjson")).toBe("ndjson");
    expect(formatOfName("stock.txt")).toBeNull();
  });
});
