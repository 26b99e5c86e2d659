/**
 * The committed JSON Schemas are what producers on other stacks validate against: they must say
 * exactly what the zod schemas say. A change to a schema without `npm run contract:schemas`
 * fails here.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CONTRACT_DOCUMENTS,
  contractJson,
  OPENAPI_FILE,
  openApiJson,
} from "../../../src/contract-schemas.js";

const committed = (file: string) =>
  readFileSync(new URL(`../../../contract/${file}`, import.meta.url), "utf8");

describe("contract/*.schema.json", () => {
  it.each(CONTRACT_DOCUMENTS.map((d) => [d.file, d] as const))(
    "%s matches the zod schema (run npm run contract:schemas after changing it)",
    (file, document) => {
      expect(committed(file)).toBe(contractJson(document));
    },
  );

  it("describes the failure event a producer sends: required fields, kept unknown ones", () => {
    const schema = JSON.parse(committed("failure-event.v1.schema.json"));
    expect(schema.required).toEqual(
      expect.arrayContaining(["eventId", "occurredAt", "client", "sku", "failureMode"]),
    );
    expect(schema.required).not.toContain("operation");
    expect(schema.properties.failureMode.enum).toContain("partial_write");
    expect(schema.additionalProperties).not.toBe(false);
  });

  it("has one document per event kind a producer sends", () => {
    expect(CONTRACT_DOCUMENTS.map((d) => d.file).sort()).toEqual([
      "failure-event.v1.schema.json",
      "snapshot-part.v1.schema.json",
      "sync-batch.v1.schema.json",
      "sync-started.v1.schema.json",
      "sync-succeeded.v1.schema.json",
    ]);
  });

  it("openapi.json is the HTTP intake's document (run npm run contract:schemas after changing it)", () => {
    expect(committed(OPENAPI_FILE)).toBe(openApiJson());
    const document = JSON.parse(committed(OPENAPI_FILE));
    expect(document.openapi).toBe("3.1.0");
    const events = document.components.schemas.EventBatch.properties.events;
    expect(events.maxItems).toBe(500);
    const names = events.items.oneOf.map(
      (item: { properties: { name: { const: string } } }) => item.properties.name.const,
    );
    expect(names.sort()).toEqual([
      "snapshot.part",
      "sync.failed",
      "sync.started",
      "sync.succeeded",
    ]);
  });
});

describe("contract/snapshot-part.v1.schema.json", () => {
  it("names the fields a snapshot part needs and caps a part at 10,000 items", () => {
    const schema = JSON.parse(committed("snapshot-part.v1.schema.json"));
    expect(schema.required).toEqual(
      expect.arrayContaining([
        "snapshotId",
        "client",
        "system",
        "takenAt",
        "part",
        "parts",
        "items",
      ]),
    );
    expect(schema.properties.items.maxItems).toBe(10_000);
    expect(schema.properties.items.items.required).toEqual(["sku", "quantity"]);
    expect(schema.properties.items.items.properties.quantity.minimum).toBe(0);
    expect(schema.additionalProperties).not.toBe(false);
  });
});
