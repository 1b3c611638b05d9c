/**
 * Command-line options of `npm run loadtest -- <scenario> [options]`, with a
 * clear error for every bad value.
 */
import { parseArgs } from "node:util";

export type TargetChoice = "herald" | "baseline" | "both";

export interface Options {
  target: TargetChoice;
  durationS: number;
  /** Subscriber connections (fanout, latency, cluster, notify, slow-consumer) or connections (idle, many-topics). */
  connections: number;
  messageBytes: number;
  window: number;
  rate: number;
  /** --rate was given: scenarios that pace by a window (cluster) pace by this rate instead. */
  rateGiven: boolean;
  workers: number;
  sourceAddresses: number;
  connectConcurrency: number;
  connectTimeoutMs: number;
  settleMs: number;
  nodes: number;
  httpConcurrency: number;
  frozen: number;
  via: "topic" | "app";
  apiToken: string | undefined;
  /** Env for both servers (e.g. HERALD_MAX_OUTBOUND_BYTES=1MiB). */
  serverEnv: Record<string, string>;
  /** Env for Herald only (e.g. HERALD_ACL_FILE=...). */
  heraldEnv: Record<string, string>;
  out: string | undefined;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const OPTION_HELP = `
  --target herald|baseline|both   which server(s) to measure (default both: baseline first, then Herald)
  --duration S                    seconds of publishing, or of holding (idle)
  --connections N, -n N           subscriber connections (alias --subscribers)
  --size BYTES                    message body size (default 100; slow-consumer 4096)
  --window N                      flow control: messages ahead of the slowest subscriber
                                  (many-topics: deliveries in flight)
  --rate N                        latency: messages per second (default 100); cluster: pace by this rate instead of --window
  --workers N                     load worker processes (default: ceil(connections / 15000))
  --source-addresses N            spread connections over 127.0.0.2 ... 127.0.0.(N+1)
                                  (default: ceil(connections / 25000))
  --connect-concurrency N         connection attempts in flight per worker (default 200)
  --connect-timeout S             per connection, until SUBSCRIBE is confirmed (default 15)
  --settle MS                     wait after connecting before measuring (default 1000; idle 3000)
  --nodes N                       cluster: edge nodes holding subscribers (default 3; +1 publisher node)
  --http-concurrency N            notify: POSTs in flight (default 16)
  --frozen N                      slow-consumer: subscribers that stop reading (default 1)
  --via topic|app                 SEND straight to the topic, or to /app/sendMessage (→ /topic/messages)
  --api-token TOKEN               notify: sent as Authorization: Bearer TOKEN
  --server-env KEY=VALUE          env for both servers (repeatable)
  --herald-env KEY=VALUE          env for Herald only (repeatable)
  --out FILE                      JSON report path (default loadtest/results/<scenario>-<time>.json)
`;

function int(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name}: expected a whole number, got "${v}"`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name}: must be between ${min} and ${max}, got ${n}`);
  return n;
}

function num(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${name}: expected a number, got "${v}"`);
  if (n < min || n > max) throw new UsageError(`--${name}: must be between ${min} and ${max}, got ${n}`);
  return n;
}

function envPairs(name: string, list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(item);
    if (!m) throw new UsageError(`--${name}: expected KEY=VALUE, got "${item}"`);
    if (m[1] === "HOST" || m[1] === "PORT") throw new UsageError(`--${name}: ${m[1]} is chosen by the load test (loopback, free port)`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** Scenario defaults that differ from the general ones. */
export interface Defaults {
  connections: number;
  durationS: number;
  window: number;
  settleMs?: number;
  messageBytes?: number;
  nodes?: number;
}

export function parseOptions(argv: string[], defaults: Defaults): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        target: { type: "string" },
        duration: { type: "string" },
        connections: { type: "string", short: "n" },
        subscribers: { type: "string" },
        size: { type: "string" },
        window: { type: "string" },
        rate: { type: "string" },
        workers: { type: "string" },
        "source-addresses": { type: "string" },
        "connect-concurrency": { type: "string" },
        "connect-timeout": { type: "string" },
        settle: { type: "string" },
        nodes: { type: "string" },
        "http-concurrency": { type: "string" },
        frozen: { type: "string" },
        via: { type: "string" },
        "api-token": { type: "string" },
        "server-env": { type: "string", multiple: true },
        "herald-env": { type: "string", multiple: true },
        out: { type: "string" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  const target = v.target ?? "both";
  if (target !== "herald" && target !== "baseline" && target !== "both") throw new UsageError(`--target: expected herald, baseline or both, got "${target}"`);
  const via = v.via ?? "topic";
  if (via !== "topic" && via !== "app") throw new UsageError(`--via: expected topic or app, got "${via}"`);
  if (v.connections !== undefined && v.subscribers !== undefined) throw new UsageError("give --connections or --subscribers, not both");
  const connections = int("connections", v.connections ?? v.subscribers, defaults.connections, 1, 200_000);
  const workersDefault = Math.max(1, Math.ceil(connections / 15_000));
  const workers = int("workers", v.workers, workersDefault, 1, 64);
  const sourceAddresses = int("source-addresses", v["source-addresses"], Math.max(1, Math.ceil(connections / 25_000)), 1, 250);
  if (connections / sourceAddresses > 28_000) {
    throw new UsageError(`--source-addresses ${sourceAddresses}: ${Math.ceil(connections / sourceAddresses)} connections per source address exceeds the ~28,000 ephemeral ports each has`);
  }
  const frozen = int("frozen", v.frozen, 1, 0, connections - 1);
  return {
    target,
    durationS: num("duration", v.duration, defaults.durationS, 0.5, 3600),
    connections,
    messageBytes: int("size", v.size, defaults.messageBytes ?? 100, 40, 1024 * 1024),
    window: int("window", v.window, defaults.window, 1, 1_000_000),
    rate: num("rate", v.rate, 100, 0.1, 1_000_000),
    rateGiven: v.rate !== undefined,
    workers,
    sourceAddresses,
    connectConcurrency: int("connect-concurrency", v["connect-concurrency"], 200, 1, 10_000),
    connectTimeoutMs: num("connect-timeout", v["connect-timeout"], 15, 1, 600) * 1000,
    settleMs: int("settle", v.settle, defaults.settleMs ?? 1000, 0, 600_000),
    nodes: int("nodes", v.nodes, defaults.nodes ?? 3, 1, 16),
    httpConcurrency: int("http-concurrency", v["http-concurrency"], 16, 1, 1024),
    frozen,
    via,
    apiToken: v["api-token"],
    serverEnv: envPairs("server-env", v["server-env"]),
    heraldEnv: envPairs("herald-env", v["herald-env"]),
    out: v.out,
  };
}

/** 127.0.0.2 … 127.0.0.(n+1): loopback only, never 127.0.0.1 (the servers' own address). */
export function sourceAddresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 2}`);
}
