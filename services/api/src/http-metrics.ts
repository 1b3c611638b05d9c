import { counter, histogram, type Registry } from "@herald/observability";

export function httpMetrics(registry: Registry) {
  return {
    requests: counter(registry, "http_requests_total", "HTTP API requests by route pattern and status", ["route", "status"] as const),
    duration: histogram(registry, "http_request_duration_seconds", "HTTP API request duration by route pattern", [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], ["route"] as const),
  };
}
export type HttpMetrics = ReturnType<typeof httpMetrics>;
