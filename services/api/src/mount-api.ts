import type { HttpRequest, HttpResponse, TemplatedApp } from "@herald/uws";
import type { NotificationQueue } from "@herald/queue";
import type { Logger, Registry } from "@herald/observability";
import type { ApiConfig } from "./api-config.js";
import { ApiKeys } from "./api-keys.js";
import { RateLimits } from "./rate-limits.js";
import { Exchange } from "./exchange.js";
import { httpMetrics } from "./http-metrics.js";
import { createHandlers, type RequestContext } from "./handlers.js";
import { buildOpenApi } from "./openapi.js";
import { ROUTES, UNMATCHED_ROUTE, type Route } from "./routes.js";

export interface ApiDeps {
  queue: NotificationQueue;
  logger: Logger;
  registry: Registry;
  config: ApiConfig;
}

function remoteAddress(res: HttpResponse): string {
  return Buffer.from(res.getRemoteAddressAsText()).toString();
}

/** The Idempotency-Key header, "" when sent empty (a client bug worth a 400), undefined when absent. */
function idempotencyKeyHeader(req: HttpRequest): string | undefined {
  const value = req.getHeader("idempotency-key");
  if (value !== "") return value;
  let present = false;
  req.forEach((name) => (present ||= name === "idempotency-key"));
  return present ? "" : undefined;
}

/**
 * Mounts the publishing API (the routes in ROUTES, plus JSON 404/405) on a
 * uWebSockets.js app: the edge's own app in the embedded default, or an app of its
 * own with HERALD_ROLES=api.
 */
export function mountApi(app: TemplatedApp, deps: ApiDeps): void {
  const { config, logger } = deps;
  const log = logger.child({ role: "api" });
  const keys = new ApiKeys(config.apiKeys);
  const limits = new RateLimits(config.ratePerSec, config.burst);
  const metrics = httpMetrics(deps.registry);
  const handlers = createHandlers({ queue: deps.queue, logger: log, config, openApi: JSON.stringify(buildOpenApi(config)) });
  if (!keys.enabled) {
    log.warn("HERALD_API_KEYS is not set: the publishing API accepts only loopback clients (127.0.0.0/8, ::1); requests forwarded by a proxy (X-Forwarded-For, Forwarded) are refused");
  }

  const byPattern = new Map<string, Route[]>();
  for (const r of ROUTES) byPattern.set(r.pattern, [...(byPattern.get(r.pattern) ?? []), r]);

  for (const [pattern, routes] of byPattern) {
    const allow = routes.map((r) => r.method.toUpperCase()).join(", ");
    app.any(pattern, (res, req) => {
      const ex = new Exchange(res, pattern, metrics);
      const method = req.getMethod().toLowerCase();
      const route = routes.find((r) => r.method === method);
      if (!route) return ex.error(405, `${method.toUpperCase()} is not allowed on ${pattern}; allowed: ${allow}`, null, { allow });
      try {
        dispatch(route, ex, res, req);
      } catch (err) {
        log.error({ err }, "API handler threw");
        ex.error(500, "internal error", null);
      }
    });
  }

  const notFound = (res: HttpResponse, req: HttpRequest) => {
    const ex = new Exchange(res, UNMATCHED_ROUTE, metrics);
    ex.error(404, `no route ${req.getMethod().toUpperCase()} ${req.getUrl()}`, null);
  };
  app.any("/v1", notFound);
  app.any("/v1/*", notFound);

  function dispatch(route: Route, ex: Exchange, res: HttpResponse, req: HttpRequest): void {
    let idempotencyScope: string | undefined;
    if (route.auth) {
      const proxied = req.getHeader("x-forwarded-for") !== "" || req.getHeader("forwarded") !== "";
      const auth = keys.authenticate(req.getHeader("authorization"), remoteAddress(res), proxied);
      if (!auth.ok) {
        return ex.error(auth.status, auth.error, null, auth.status === 401 ? { "www-authenticate": 'Bearer realm="herald"' } : {});
      }
      const waitMs = limits.take(auth.principal);
      if (waitMs > 0) {
        return ex.error(429, `rate limit of ${config.ratePerSec} requests/s exceeded for this API key`, null, { "retry-after": String(Math.ceil(waitMs / 1000)) });
      }
      idempotencyScope = auth.scope;
    }
    const ctx: RequestContext = {
      ex,
      params: route.pattern.includes(":") ? [req.getParameter(0) ?? ""] : [],
      contentType: req.getHeader("content-type"),
      contentLength: req.getHeader("content-length"),
      idempotencyKey: idempotencyKeyHeader(req),
      idempotencyScope,
    };
    handlers[route.id](ctx);
  }
}
