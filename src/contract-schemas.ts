/**
 * The producer contract as JSON Schema, for producers that are not on TypeScript (Python, Go):
 * generated from the same zod schemas syncdesk parses every job with, so the documents cannot
 * drift from the code. `npm run contract:schemas` writes them to contract/ with the HTTP
 * intake's OpenAPI document; a unit test fails when the committed files differ from what the
 * schemas say now. The schemas themselves live in the producer kit (packages/contract).
 */
import { z } from "zod";
import { failureEventSchema } from "./intake/failure-event.schema.js";
import {
  batchEventSchema,
  outcomeEventSchema,
  startedEventSchema,
} from "./outcomes/outcome-event.schema.js";
import { openApiDocument } from "./producers/openapi.js";

export interface ContractDocument {
  /** The file under contract/. */
  file: string;
  title: string;
  description: string;
  schema: z.ZodType;
}

export const CONTRACT_DOCUMENTS: ContractDocument[] = [
  {
    file: "failure-event.v1.schema.json",
    title: "syncdesk failure event, version 1",
    description:
      "Job data of a job named sync.failed on the inventory-sync-failures queue, with job id event-<base64url(eventId)>.",
    schema: failureEventSchema,
  },
  {
    file: "sync-succeeded.v1.schema.json",
    title: "syncdesk sync.succeeded outcome, version 1",
    description: "Job data of a job named sync.succeeded on the inventory-sync-outcomes queue.",
    schema: outcomeEventSchema,
  },
  {
    file: "sync-started.v1.schema.json",
    title: "syncdesk sync.started delivery, version 1",
    description: "Job data of a job named sync.started on the inventory-sync-outcomes queue.",
    schema: startedEventSchema,
  },
  {
    file: "sync-batch.v1.schema.json",
    title: "syncdesk sync.batch of deliveries, version 1",
    description:
      "Job data of a job named sync.batch on the inventory-sync-outcomes queue: up to 1,000 sync.started / sync.succeeded events, each judged on its own.",
    schema: batchEventSchema,
  },
  // Snapshot contract (merge point): its document goes here at merge time, e.g.
  // { file: "snapshot-part.v1.schema.json", title: "syncdesk snapshot part, version 1", ... }.
];

/** The JSON text of one document, as committed (what a producer validates its input against). */
export function contractJson(document: ContractDocument): string {
  const generated = z.toJSONSchema(document.schema, { io: "input", unrepresentable: "any" });
  const { $schema, ...rest } = generated as Record<string, unknown>;
  return `${JSON.stringify(
    {
      $schema,
      $id: document.file,
      title: document.title,
      description: document.description,
      ...rest,
    },
    null,
    2,
  )}\n`;
}

/** The HTTP intake's OpenAPI 3.1 document (default limits), as committed in contract/. */
export const OPENAPI_FILE = "openapi.json";

export function openApiJson(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
