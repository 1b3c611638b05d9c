import type { HttpResponse } from "@herald/uws";
import type { HttpMetrics } from "./http-metrics.js";

const REASONS: Record<number, string> = {
  200: "OK",
  202: "Accepted",
  207: "Multi-Status",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Every error body: what is wrong, and which field (null when it is not about one field). */
export interface ErrorBody {
  error: string;
  field: string | null;
  [extra: string]: unknown;
}

/**
 * One request/response. uWebSockets.js invalidates `res` on abort or end: this wraps
 * it so nothing touches it afterwards, every write outside the handler's synchronous
 * part is corked, and each request is counted once in the metrics.
 */
export class Exchange {
  private aborted = false;
  private finished = false;
  private readonly started = performance.now();

  constructor(
    readonly res: HttpResponse,
    readonly route: string,
    private readonly metrics: HttpMetrics,
  ) {
    res.onAborted(() => {
      this.aborted = true;
      this.record(499); // nginx's "client closed request": visible, distinct from our own answers
    });
  }

  /** True while a response can still be written. */
  get open(): boolean {
    return !this.aborted && !this.finished;
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}, closeConnection = false): void {
    this.raw(status, JSON.stringify(body), headers, closeConnection);
  }

  /** Answers with an already serialized JSON payload. */
  raw(status: number, payload: string, headers: Record<string, string> = {}, closeConnection = false): void {
    if (!this.open) return;
    this.finished = true;
    this.res.cork(() => {
      this.res.writeStatus(`${status} ${REASONS[status] ?? ""}`.trim());
      for (const [k, v] of Object.entries(headers)) this.res.writeHeader(k, v);
      this.res.writeHeader("content-type", "application/json");
      this.res.writeHeader("cache-control", "no-store");
      this.res.end(payload, closeConnection);
    });
    this.record(status);
  }

  error(status: number, error: string, field: string | null, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}, closeConnection = false): void {
    const body: ErrorBody = { error, field, ...extra };
    this.json(status, body, headers, closeConnection);
  }

  private record(status: number): void {
    this.metrics.requests.inc({ route: this.route, status: String(status) });
    this.metrics.duration.observe({ route: this.route }, (performance.now() - this.started) / 1000);
  }
}
