/**
 * The OpenAPI 3.1 document of the HTTP intake, served at /v1/openapi.json and committed as
 * contract/openapi.json (npm run contract:schemas; a test fails when it drifts). The request's
 * event schemas are generated from the same zod schemas the desk parses with.
 */
import { z } from "zod";
import { httpBatchDocSchema, MAX_HTTP_EVENTS } from "./http-batch.js";

export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

const problem = {
  type: "object",
  required: ["path", "message"],
  properties: {
    path: { type: "string", description: "Where in `data` (dotted), or `name`, `data`, `(item)`." },
    message: { type: "string" },
  },
};

const errorBody = (codes: string[]) => ({
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code", "message"],
            properties: { code: { type: "string", enum: codes }, message: { type: "string" } },
          },
        },
      },
    },
  },
});

export function openApiDocument(
  limits: { maxBodyBytes: number } = { maxBodyBytes: DEFAULT_MAX_BODY_BYTES },
) {
  const request = z.toJSONSchema(httpBatchDocSchema, { io: "input", unrepresentable: "any" });
  const { $schema: _ignored, ...requestSchema } = request as Record<string, unknown>;
  return {
    openapi: "3.1.0",
    info: {
      title: "syncdesk event intake",
      version: "1",
      description: `For producers that are not on BullMQ. Each item names its job (\`sync.failed\`, \`sync.succeeded\`, \`sync.started\`) and carries the event as \`data\`, exactly as a BullMQ producer adds it; the desk checks it with the same schemas (contract/*.schema.json) and adds it to the same queues with the same job ids. Up to ${MAX_HTTP_EVENTS} events and ${limits.maxBodyBytes} bytes per request. Idempotent by eventId: sending an event again is answered \`duplicate\` and makes nothing twice. A bad event never fails the batch: it is answered \`rejected\` with what was wrong, and kept (with the producer's name) for the desk to see.`,
    },
    components: {
      securitySchemes: {
        producerToken: {
          type: "http",
          scheme: "bearer",
          description: "A producer token (sdp_…), made with `npm run producers -- create <name>`.",
        },
      },
      schemas: {
        EventBatch: requestSchema,
        Problem: problem,
      },
    },
    security: [{ producerToken: [] }],
    paths: {
      "/v1/events": {
        post: {
          operationId: "postEvents",
          summary: `Report up to ${MAX_HTTP_EVENTS} failure and delivery events`,
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/EventBatch" } },
            },
          },
          responses: {
            "202": {
              description: "Taken: one result per item, in the order sent.",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    required: ["producer", "accepted", "duplicates", "rejected", "results"],
                    properties: {
                      producer: { type: "string" },
                      accepted: { type: "integer" },
                      duplicates: { type: "integer" },
                      rejected: { type: "integer" },
                      results: {
                        type: "array",
                        items: {
                          type: "object",
                          required: ["index", "status"],
                          properties: {
                            index: { type: "integer" },
                            status: { type: "string", enum: ["accepted", "duplicate", "rejected"] },
                            eventId: { type: "string" },
                            jobId: {
                              type: "string",
                              description: "event-<base64url(eventId)> (failures)",
                            },
                            problems: {
                              type: "array",
                              items: { $ref: "#/components/schemas/Problem" },
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
            "400": {
              description: "Not JSON, not `{ events: [...] }`, empty, or more than 500 items.",
              ...errorBody(["invalid_json", "invalid_body", "too_many_events"]),
            },
            "401": {
              description: "No token, not a producer token, unknown or revoked.",
              ...errorBody(["missing_token", "malformed_token", "unknown_token", "revoked_token"]),
            },
            "413": {
              description: "The body is larger than the limit.",
              ...errorBody(["too_large"]),
            },
            "415": {
              description: "Not application/json.",
              ...errorBody(["unsupported_media_type"]),
            },
            "429": {
              description:
                "Faster than the producer's rate (events per second); wait Retry-After seconds.",
              headers: { "Retry-After": { schema: { type: "integer" } } },
              ...errorBody(["rate_limited"]),
            },
            "503": {
              description: "Postgres or Redis did not answer; send again.",
              ...errorBody(["unavailable"]),
            },
          },
        },
      },
      "/v1/openapi.json": {
        get: {
          operationId: "openApi",
          summary: "This document",
          security: [],
          responses: { "200": { description: "The OpenAPI document." } },
        },
      },
    },
  };
}
