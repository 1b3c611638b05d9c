import type { TemplatedApp } from "@herald/uws";
import type { Registry } from "@herald/observability";

export interface ReadinessCheck {
  readonly name: string;
  /** A reason when not ready, undefined when ready. */
  check(): string | undefined;
}

/** /healthz (the process answers), /readyz (every check passes) and /metrics, on every role. */
export function mountOpsRoutes(app: TemplatedApp, registry: Registry, checks: readonly ReadinessCheck[]): void {
  app.get("/healthz", (res) => {
    res.cork(() => res.writeHeader("content-type", "application/json").end('{"status":"ok"}'));
  });
  app.get("/readyz", (res) => {
    const failing = checks.map((c) => [c.name, c.check()] as const).filter(([, reason]) => reason !== undefined);
    const body = JSON.stringify(failing.length === 0 ? { status: "ready" } : { status: "not ready", checks: Object.fromEntries(failing) });
    res.cork(() => {
      if (failing.length > 0) res.writeStatus("503 Service Unavailable");
      res.writeHeader("content-type", "application/json").end(body);
    });
  });
  app.get("/metrics", (res) => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    registry.metrics().then(
      (text) => {
        if (aborted) return;
        res.cork(() => res.writeHeader("content-type", registry.contentType).end(text));
      },
      (err: unknown) => {
        if (aborted) return;
        res.cork(() => res.writeStatus("500 Internal Server Error").end(String(err)));
      },
    );
  });
}
