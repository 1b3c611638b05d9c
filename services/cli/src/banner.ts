import type { Role } from "./roles.js";

export interface BannerFacts {
  /** The listen address (HOST): 0.0.0.0 and :: are shown as localhost. */
  host: string;
  port: number;
  tls: boolean;
  roles: ReadonlySet<Role>;
  /** REDIS_URL with its password masked; undefined for the embedded default. */
  redis: string | undefined;
}

/**
 * What a person at a terminal needs after `npm start`: which Herald is running and the
 * URLs to open. Printed on a terminal only (see showsBanner), never into production logs.
 */
export function startBanner(f: BannerFacts): string {
  const host = f.host === "0.0.0.0" || f.host === "::" || f.host === "" ? "localhost" : f.host.includes(":") ? `[${f.host}]` : f.host;
  const http = `${f.tls ? "https" : "http"}://${host}:${f.port}`;
  const ws = `${f.tls ? "wss" : "ws"}://${host}:${f.port}`;
  const roles = [...f.roles];
  const what = f.redis === undefined
    ? roles.length === 3 ? "embedded default: edge, api and worker in this process, no Redis" : `roles ${roles.join(", ")}, no Redis`
    : `roles ${roles.join(", ")}, Redis ${f.redis}`;
  const lines = [`Herald is ready (${what})`];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(12)} ${value}`);
  if (f.roles.has("edge")) {
    row("demo", `${http}/`);
    row("STOMP", `${ws}/ws  (SockJS: ${http}/ws)`);
  }
  if (f.roles.has("api")) row("publish API", `${http}/v1/notifications  (OpenAPI: ${http}/v1/openapi.json)`);
  row("health", `${http}/readyz  metrics: ${http}/metrics`);
  lines.push("Ctrl-C stops it (connections are drained first; a second Ctrl-C exits at once).");
  return lines.join("\n");
}
