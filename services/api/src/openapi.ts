import { DEFAULT_MAX_BODY_BYTES, MAX_HEADERS, MAX_IDEMPOTENCY_KEY_LENGTH, RESERVED_HEADERS } from "@herald/queue";
import type { ApiConfig } from "./api-config.js";
import { openApiPath, ROUTES, type RouteId } from "./routes.js";

type Json = Record<string, unknown>;

const error = (description: string): Json => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });
const json = (description: string, schema: Json, headers?: Json): Json => ({ description, ...(headers ? { headers } : {}), content: { "application/json": { schema } } });

/** What validate.ts and the handler accept for a key: printable ASCII. */
const idempotencyKeySchema = { type: "string", minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH, pattern: "^[ -~]+$" };

function operations(config: ApiConfig): Record<RouteId, Json> {
  const common = {
    "401": error("Missing, malformed or unknown API key"),
    "403": error("No API keys are configured and the client is not on a loopback address"),
    "429": { ...error("Rate limit of this API key exceeded"), headers: { "Retry-After": { schema: { type: "integer" }, description: "Seconds to wait" } } },
  };
  return {
    postNotification: {
      operationId: "postNotification",
      parameters: [
        {
          name: "Idempotency-Key",
          in: "header",
          required: false,
          schema: idempotencyKeySchema,
          description:
            "The same key with the same notification within 24 h returns the first notification's id and enqueues nothing; with a different notification it is refused (422). " +
            "Keys are per API key: another API key's identical key is a different notification.",
        },
      ],
      requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/NotificationRequest" } } } },
      responses: {
        "202": json("Durably enqueued", { $ref: "#/components/schemas/Accepted" }, {
          "Idempotent-Replayed": { schema: { type: "string", enum: ["true"] }, description: "Present when the Idempotency-Key was seen before: nothing new was enqueued" },
          Location: { schema: { type: "string" } },
        }),
        "400": error("Malformed JSON, unknown field, an invalid destination, user, header or body, or an empty, too long or non-ASCII Idempotency-Key"),
        "413": error(`Request body larger than ${config.maxBodyBytes} bytes`),
        "422": error("The Idempotency-Key (or idempotencyKey) was already used in the last 24 h for a different notification; nothing was enqueued"),
        "415": error("Content-Type is not application/json"),
        "503": error("The queue is unavailable; retry with the same Idempotency-Key"),
        ...common,
      },
    },
    postBatch: {
      operationId: "postBatch",
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: {
              type: "object",
              additionalProperties: false,
              required: ["notifications"],
              properties: { notifications: { type: "array", minItems: 1, maxItems: config.maxBatch, items: { $ref: "#/components/schemas/NotificationRequest" } } },
            },
          },
        },
      },
      responses: {
        "202": json("Every notification was enqueued (one round trip)", { $ref: "#/components/schemas/BatchResults" }),
        "207": json("Some notifications were rejected; the others were enqueued. Results are in request order.", { $ref: "#/components/schemas/BatchResults" }),
        "400": error("Malformed JSON, no notifications array, or every notification rejected (results included)"),
        "413": error(`More than ${config.maxBatch} notifications, or a body larger than ${config.maxBatchBytes} bytes`),
        "415": error("Content-Type is not application/json"),
        "503": error("The queue is unavailable"),
        ...common,
      },
    },
    getNotification: {
      operationId: "getNotification",
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      responses: {
        "200": json("The notification's state", { $ref: "#/components/schemas/NotificationState" }),
        "404": error("Unknown id (never enqueued, or expired: delivered ones are kept 24 h, failed ones 7 days)"),
        ...common,
      },
    },
    getOpenApi: {
      operationId: "getOpenApi",
      security: [],
      responses: { "200": json("This document", { type: "object" }) },
    },
  };
}

/** The OpenAPI 3.1 document of the API, built from the route table. */
export function buildOpenApi(config: ApiConfig): Json {
  const ops = operations(config);
  const paths: Record<string, Json> = {};
  for (const r of ROUTES) {
    const path = openApiPath(r.pattern);
    paths[path] = { ...paths[path], [r.method]: { summary: r.summary, ...ops[r.id] } };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Herald publishing API",
      version: "1.0.0",
      description:
        "Backends publish notifications; Herald delivers them to STOMP clients subscribed to the destination (or to every session of a user). " +
        "Unless stated otherwise, every error is JSON {error, field}. Unknown routes answer 404 and wrong methods 405, both JSON.",
    },
    paths,
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "A key from HERALD_API_KEYS. With none configured, only loopback clients are accepted." } },
      schemas: {
        NotificationRequest: {
          type: "object",
          additionalProperties: false,
          required: ["destination", "body"],
          properties: {
            destination: { type: "string", description: "/topic/… or /queue/… ; with user, /queue/… (clients subscribe to /user/queue/…)", examples: ["/topic/prices.AAPL", "/queue/notifications"] },
            user: { type: "string", description: "Deliver only to this user's sessions" },
            body: { description: `A string (sent as is, text/plain by default) or any JSON value (serialized once, application/json by default); at most ${DEFAULT_MAX_BODY_BYTES} bytes by default` },
            contentType: { type: "string" },
            headers: {
              type: "object",
              maxProperties: MAX_HEADERS,
              additionalProperties: { type: "string" },
              description: `Extra STOMP headers; ${RESERVED_HEADERS.join(", ")} are reserved`,
            },
            idempotencyKey: { ...idempotencyKeySchema, description: "As the Idempotency-Key header, per notification (batches); reused for a different notification, that notification is rejected" },
          },
        },
        Accepted: { type: "object", required: ["id"], properties: { id: { type: "string" } } },
        BatchResults: {
          type: "object",
          required: ["results"],
          properties: {
            results: {
              type: "array",
              items: {
                oneOf: [
                  { type: "object", required: ["id"], properties: { id: { type: "string" }, replayed: { type: "boolean" } } },
                  { $ref: "#/components/schemas/Error" },
                ],
              },
            },
          },
        },
        NotificationState: {
          type: "object",
          required: ["id", "state"],
          properties: {
            id: { type: "string" },
            state: { type: "string", enum: ["queued", "delivered", "failed"], description: "delivered = published to the bus" },
            reason: { type: "string", description: "Why the last attempt failed" },
            attempts: { type: "integer" },
          },
        },
        Error: {
          type: "object",
          required: ["error", "field"],
          properties: { error: { type: "string" }, field: { type: ["string", "null"], description: "The offending field, e.g. destination or notifications[3].headers.x-a" } },
        },
      },
    },
  };
}
