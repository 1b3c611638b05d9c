import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { loadUws, type us_listen_socket } from "@herald/uws";
import { InlineNotificationQueue, type NotificationProcessor, type NotificationQueue } from "@herald/queue";
import { LocalBus, type BusMessage } from "@herald/bus";
import { createRegistry, type Registry } from "@herald/observability";
import { createNotificationProcessor } from "@herald/worker";
import { mountApi, DEFAULT_API_CONFIG, type ApiConfig } from "../src/index.js";

export interface ApiHarness {
  url: string;
  port: number;
  bus: LocalBus;
  /** Every message the bus delivered (all destinations the test subscribed). */
  delivered: BusMessage[];
  /** Processor calls: 0 means nothing was enqueued. */
  processed: () => number;
  queue: NotificationQueue;
  registry: Registry;
  logs: string[];
  subscribe(destination: string): void;
  close(): Promise<void>;
}

/** A real uWebSockets.js app on a free loopback port with the API, an inline queue, a LocalBus and the real processor. */
export async function startApi(
  config: Partial<ApiConfig> = {},
  makeQueue?: (processor: NotificationProcessor, registry: Registry) => NotificationQueue,
): Promise<ApiHarness> {
  const uws = loadUws();
  const app = uws.App();
  const logs: string[] = [];
  const logger: Logger = pino({ level: "info" }, new Writable({ write: (chunk, _e, cb) => (logs.push(String(chunk)), cb()) }));
  const registry = createRegistry();
  const bus = new LocalBus();
  const delivered: BusMessage[] = [];
  bus.on("message", (m) => delivered.push(m));
  const processor = createNotificationProcessor({ bus, logger, registry });
  let calls = 0;
  const counted: NotificationProcessor = (job, id) => (calls++, processor(job, id));
  const queue = makeQueue ? makeQueue(counted, registry) : new InlineNotificationQueue(counted);
  mountApi(app, { queue, logger, registry, config: { ...DEFAULT_API_CONFIG, ...config } });
  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen("127.0.0.1", 0, (s) => (s ? resolve(s) : reject(new Error("uWS could not listen")))),
  );
  const port = uws.us_socket_local_port(listenSocket as never);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    bus,
    delivered,
    processed: () => calls,
    queue,
    registry,
    logs,
    subscribe: (d) => bus.subscribe(d),
    async close() {
      uws.us_listen_socket_close(listenSocket);
      closeConnections(app);
      await queue.close();
    },
  };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: r.status, headers: r.headers, json: (await r.json()) as Record<string, unknown> };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const r = await fetch(url, { headers });
  return { status: r.status, headers: r.headers, json: (await r.json()) as Record<string, unknown> };
}

export const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

/**
 * uWebSockets.js 20.30 has App.close() (closes every socket, keep-alive ones included)
 * but its typings lack it; without it fetch's idle keep-alive sockets hold the test
 * process for seconds.
 */
export function closeConnections(app: object): void {
  (app as { close?: () => void }).close?.();
}
