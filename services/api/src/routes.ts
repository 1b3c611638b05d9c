/**
 * The one route table: the router mounts exactly these, and the OpenAPI document
 * describes exactly these (a test holds both to it).
 */
export type RouteId = "postNotification" | "postBatch" | "getNotification" | "getOpenApi";
export type HttpMethod = "get" | "post";

export interface Route {
  readonly id: RouteId;
  readonly method: HttpMethod;
  /** uWebSockets.js pattern (`:name` parameters); also the `route` metric label. */
  readonly pattern: string;
  /** Requires an API key (or a loopback client when none is configured) and counts against the rate limit. */
  readonly auth: boolean;
  readonly summary: string;
}

export const ROUTES: readonly Route[] = [
  { id: "postNotification", method: "post", pattern: "/v1/notifications", auth: true, summary: "Publish one notification" },
  { id: "postBatch", method: "post", pattern: "/v1/notifications/batch", auth: true, summary: "Publish many notifications in one request" },
  { id: "getNotification", method: "get", pattern: "/v1/notifications/:id", auth: true, summary: "Where a notification is" },
  { id: "getOpenApi", method: "get", pattern: "/v1/openapi.json", auth: false, summary: "This API as an OpenAPI 3.1 document" },
];

/** `/v1/notifications/:id` → `/v1/notifications/{id}`. */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
}

/** Route label for requests no route matched (never the raw URL: unbounded cardinality). */
export const UNMATCHED_ROUTE = "unmatched";
