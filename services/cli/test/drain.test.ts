import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { RedisServer, frameText, waitFor, RawStomp } from "@herald/testkit";
import { HeraldProcess } from "./herald-process.js";
import { StompParser, header, type Frame, type ServerCommand } from "@herald/stomp";

const CLIENTS = 1000;
const WINDOW_MS = 4000;
const DESTINATION = "/topic/drain";

/**
 * A lean STOMP client for a thousand connections in one test process: it follows
 * the reconnect contract a real client would (on close, reconnect to the other node
 * and resubscribe from the last position it saw).
 */
class DrainClient {
  seqs: number[] = [];
  last: { offset: string; epoch: string } | undefined;
  closedAt: number | undefined;
  closeCode: number | undefined;
  errorMessage: string | undefined;
  recovered: string | undefined;
  resubscribed = false;

  constructor(private readonly url: string) {}

  connect(url: string, since?: { offset: string; epoch: string }): Promise<void> {
    return new Promise((resolve, reject) => {
      setTimeout(() => reject(new Error(`no RECEIPT for SUBSCRIBE on ${url}: ${this.errorMessage ?? "no ERROR either"}`)), 10_000).unref();
      const ws = new WebSocket(url, ["v12.stomp"], { perMessageDeflate: false });
      const parser = StompParser.forClient();
      ws.on("open", () => ws.send(frameText("CONNECT", { "accept-version": "1.2", host: "h", "heart-beat": "0,0" })));
      ws.on("error", reject);
      ws.on("message", (data: Buffer) => {
        for (const f of parser.push(new Uint8Array(data))) this.onFrame(ws, f, since, resolve);
      });
      ws.on("close", (code) => {
        if (url !== this.url) return;
        this.closedAt = Date.now();
        this.closeCode = code;
      });
    });
  }

  private onFrame(ws: WebSocket, f: Frame<ServerCommand>, since: { offset: string; epoch: string } | undefined, ready: () => void): void {
    if (f.command === "CONNECTED") {
      const h: Record<string, string> = { destination: DESTINATION, id: "0", receipt: "s" };
      if (since) Object.assign(h, { "herald-since-offset": since.offset, "herald-since-epoch": since.epoch });
      ws.send(frameText("SUBSCRIBE", h));
    } else if (f.command === "RECEIPT") {
      ready();
    } else if (f.command === "MESSAGE") {
      if (since && this.recovered === undefined) this.recovered = header(f, "herald-recovered");
      this.seqs.push(Number(Buffer.from(f.body).toString()));
      const offset = header(f, "herald-offset");
      const epoch = header(f, "herald-epoch");
      if (offset !== undefined && epoch !== undefined) this.last = { offset, epoch };
    } else if (f.command === "ERROR") {
      this.errorMessage = header(f, "message");
    }
  }
}

test("SIGTERM drains 1,000 connections over the window; clients reconnect to another node and recover what they missed; exit 0", async (t) => {
  const redis = await RedisServer.start();
  t.after(() => redis.dispose());
  const env = {
    REDIS_URL: redis.url,
    HERALD_ROLES: "edge",
    HERALD_DRAIN_WINDOW_MS: String(WINDOW_MS),
    HERALD_HISTORY_TOPICS: `${DESTINATION}:100000:3600`,
    // One test process holds every client, all from 127.0.0.1.
    HERALD_MAX_CONNECTIONS_PER_ADDRESS: "5000",
  };
  const [a, b] = await Promise.all([HeraldProcess.start({ env: { ...env, HERALD_NODE_ID: "a", LOG_LEVEL: "info" } }), HeraldProcess.start({ env: { ...env, HERALD_NODE_ID: "b" } })]);
  t.after(async () => {
    await a.kill();
    await b.stop();
  });

  const clients = Array.from({ length: CLIENTS }, () => new DrainClient(a.wsUrl));
  for (let i = 0; i < CLIENTS; i += 100) await Promise.all(clients.slice(i, i + 100).map((c) => c.connect(a.wsUrl)));

  // A publisher on node B, throughout the drain.
  const publisher = await RawStomp.connected(b.wsUrl);
  let seq = 0;
  const publish = () => publisher.send(frameText("SEND", { destination: DESTINATION }, String(++seq)));
  for (let i = 0; i < 5; i++) publish();
  const ticker = setInterval(publish, 20);
  t.after(() => clearInterval(ticker));
  await waitFor(() => clients.every((c) => c.seqs.length >= 5), { what: "every client received the first messages", timeoutMs: 10_000 });

  // Each client, once closed, reconnects to node B from its last position.
  const reconnects: Promise<void>[] = [];
  const watcher = setInterval(() => {
    for (const c of clients) {
      if (c.closedAt !== undefined && !c.resubscribed) {
        c.resubscribed = true;
        reconnects.push(c.connect(b.wsUrl, c.last));
      }
    }
  }, 10);
  t.after(() => clearInterval(watcher));

  const sigterm = Date.now();
  const exitCode = a.stop("SIGTERM");
  // Readiness turns at once, before the connections are gone.
  await waitFor(async () => (await fetch(`${a.httpUrl}/readyz`)).status === 503, { timeoutMs: 1000, what: "/readyz 503 while draining" });
  assert.equal(await exitCode, 0, a.output);
  // The log says when the drain ended and that the process stopped, not only the exit code.
  assert.match(a.output, /"msg":"drained"/, a.output);
  assert.match(a.output, /"signal":"SIGTERM","msg":"stopped"/, a.output);
  await waitFor(() => clients.every((c) => c.resubscribed), { what: "every client reconnected", timeoutMs: 5000 });
  await Promise.all(reconnects);
  clearInterval(ticker);
  const lastSeq = seq;
  await waitFor(() => clients.every((c) => c.seqs.includes(lastSeq)), { what: "every client caught up on node B", timeoutMs: 10_000 });

  const closes = clients.map((c) => c.closedAt! - sigterm).sort((x, y) => x - y);
  const spread = closes[closes.length - 1]! - closes[0]!;
  assert.ok(spread >= WINDOW_MS * 0.6, `connections closed within ${spread} ms: spread over the window, not at once`);
  assert.ok(closes[closes.length - 1]! <= WINDOW_MS + 3000, `the last close came ${closes[closes.length - 1]} ms after SIGTERM`);
  // No burst: at most a fifth of the clients in any tenth of the window.
  const slot = WINDOW_MS / 10;
  const perSlot = new Map<number, number>();
  for (const ms of closes) perSlot.set(Math.floor(ms / slot), (perSlot.get(Math.floor(ms / slot)) ?? 0) + 1);
  assert.ok(Math.max(...perSlot.values()) <= CLIENTS / 5, `burst of ${Math.max(...perSlot.values())} closes in ${slot} ms`);

  for (const c of clients) {
    assert.equal(c.closeCode, 1013, "close code says: try again later (elsewhere)");
    assert.match(c.errorMessage ?? "", /shutting down/);
    assert.equal(c.recovered, "complete");
    // Exactly once, in order, no gap: from the first message it saw to the last published.
    const first = c.seqs[0]!;
    assert.deepEqual(c.seqs, Array.from({ length: lastSeq - first + 1 }, (_, i) => first + i));
  }
});
