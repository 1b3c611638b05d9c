/**
 * The baseline: the least a STOMP fan-out server on uWebSockets.js can do.
 * CONNECT → CONNECTED, SUBSCRIBE → ws.subscribe(destination + subscription id),
 * SEND → one MESSAGE frame per (destination, subscription id), published natively
 * with app.publish. No auth, no bus, no history, no metrics: the ceiling that
 * Herald's numbers are compared with. Same env as Herald: PORT, HOST,
 * HERALD_MAX_OUTBOUND_BYTES, HERALD_SLOW_CONSUMER_POLICY; also
 * POST /v1/notifications {"destination","body"}, /healthz and /readyz.
 *
 *   PORT=8080 HOST=127.0.0.1 node loadtest/dist/src/baseline-server.js
 */
import { loadUws, type WebSocket, type HttpResponse } from "@herald/uws";
import { encodeFrame, FrameSplitter, WireError, type WireFrame } from "./stomp-wire.js";

interface Conn {
  splitter: FrameSplitter;
  /** subscription id → destination */
  subs: Map<string, string>;
  connected: boolean;
}

const env = process.env;
const port = intEnv("PORT", 8080);
const host = env["HOST"]?.trim() || "0.0.0.0";
const maxOutbound = bytesEnv("HERALD_MAX_OUTBOUND_BYTES", 1024 * 1024);
const policy = env["HERALD_SLOW_CONSUMER_POLICY"]?.trim() || "close";
if (policy !== "close" && policy !== "drop") fail(`HERALD_SLOW_CONSUMER_POLICY: expected close or drop, got "${policy}"`);

/** Default route, as in Spring's guide and in Herald. */
const APP_ROUTES = new Map([["/app/sendMessage", "/topic/messages"]]);

/** destination → subscription id → number of sockets using that pair */
const registry = new Map<string, Map<string, number>>();
let messageSeq = 0;

const uws = loadUws();
const app = uws.App();

const topicOf = (destination: string, id: string): string => `${destination}\n${id}`;

function addSub(destination: string, id: string): void {
  let ids = registry.get(destination);
  if (!ids) registry.set(destination, (ids = new Map()));
  ids.set(id, (ids.get(id) ?? 0) + 1);
}

function removeSub(destination: string, id: string): void {
  const ids = registry.get(destination);
  if (!ids) return;
  const n = (ids.get(id) ?? 1) - 1;
  if (n > 0) ids.set(id, n);
  else ids.delete(id);
  if (ids.size === 0) registry.delete(destination);
}

/** Builds one MESSAGE per subscription id in use and lets uWS send it to every sharer in C++. */
function deliver(destination: string, body: Buffer, contentType: string | undefined): number {
  const ids = registry.get(destination);
  if (!ids) return 0;
  const messageId = ++messageSeq;
  let n = 0;
  for (const id of ids.keys()) {
    const headers: Record<string, string | number> = { destination, "message-id": messageId, subscription: id };
    if (contentType) headers["content-type"] = contentType;
    headers["content-length"] = body.length;
    app.publish(topicOf(destination, id), encodeFrame("MESSAGE", headers, body), false);
    n++;
  }
  return n;
}

function sendError(ws: WebSocket<Conn>, message: string): void {
  ws.send(encodeFrame("ERROR", { message: message.replace(/[\r\n:]/g, " ") }, message), false);
  ws.end(1002, "STOMP error");
}

function onFrame(ws: WebSocket<Conn>, c: Conn, f: WireFrame): void {
  const receipt = f.headers.get("receipt");
  switch (f.command) {
    case "CONNECT":
    case "STOMP":
      c.connected = true;
      ws.send(encodeFrame("CONNECTED", { version: "1.2", "heart-beat": "0,0", server: "herald-baseline" }), false);
      return;
    case "SUBSCRIBE": {
      const destination = f.headers.get("destination");
      const id = f.headers.get("id");
      if (!c.connected) return sendError(ws, "SUBSCRIBE before CONNECT");
      if (!destination || id === undefined) return sendError(ws, "SUBSCRIBE needs destination and id headers");
      if (c.subs.has(id)) return sendError(ws, `subscription id ${id} already in use`);
      c.subs.set(id, destination);
      addSub(destination, id);
      ws.subscribe(topicOf(destination, id));
      break;
    }
    case "UNSUBSCRIBE": {
      const id = f.headers.get("id");
      const destination = id === undefined ? undefined : c.subs.get(id);
      if (id === undefined || destination === undefined) return sendError(ws, `UNSUBSCRIBE of unknown id ${id ?? "(none)"}`);
      c.subs.delete(id);
      removeSub(destination, id);
      ws.unsubscribe(topicOf(destination, id));
      break;
    }
    case "SEND": {
      const to = f.headers.get("destination");
      if (!c.connected) return sendError(ws, "SEND before CONNECT");
      if (!to) return sendError(ws, "SEND needs a destination header");
      deliver(APP_ROUTES.get(to) ?? to, f.body, f.headers.get("content-type"));
      break;
    }
    case "DISCONNECT":
      if (receipt !== undefined) ws.send(encodeFrame("RECEIPT", { "receipt-id": receipt }), false);
      ws.end(1000, "bye");
      return;
    default:
      return sendError(ws, `unsupported command ${f.command}`);
  }
  if (receipt !== undefined) ws.send(encodeFrame("RECEIPT", { "receipt-id": receipt }), false);
}

const SUBPROTOCOLS = ["v12.stomp", "v11.stomp", "v10.stomp"];

app.ws<Conn>("/ws", {
  compression: 0,
  maxPayloadLength: 1024 * 1024,
  maxBackpressure: maxOutbound,
  closeOnBackpressureLimit: policy === "close" ? 1 : 0,
  idleTimeout: 120,
  sendPingsAutomatically: true,
  upgrade: (res, req, context) => {
    const offered = req.getHeader("sec-websocket-protocol").split(",").map((s) => s.trim());
    const protocol = SUBPROTOCOLS.find((p) => offered.includes(p)) ?? "";
    res.upgrade<Conn>(
      { splitter: new FrameSplitter(), subs: new Map(), connected: false },
      req.getHeader("sec-websocket-key"),
      protocol,
      req.getHeader("sec-websocket-extensions"),
      context,
    );
  },
  message: (ws, data) => {
    const c = ws.getUserData();
    try {
      ws.cork(() => c.splitter.push(Buffer.from(data), (f) => onFrame(ws, c, f)));
    } catch (err) {
      if (err instanceof WireError) sendError(ws, err.message);
      else throw err;
    }
  },
  close: (ws) => {
    const c = ws.getUserData();
    for (const [id, destination] of c.subs) removeSub(destination, id);
    c.subs.clear();
  },
});

function json(res: HttpResponse, status: string, value: unknown): void {
  res.cork(() => res.writeStatus(status).writeHeader("content-type", "application/json").end(JSON.stringify(value)));
}

app.post("/v1/notifications", (res) => {
  let aborted = false;
  const chunks: Buffer[] = [];
  res.onAborted(() => (aborted = true));
  res.onData((chunk, last) => {
    chunks.push(Buffer.from(chunk.slice(0))); // uWS reuses the chunk's memory after this call
    if (!last || aborted) return;
    let req: { destination?: unknown; body?: unknown };
    try {
      req = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof req;
    } catch {
      return json(res, "400 Bad Request", { error: "body is not JSON" });
    }
    if (typeof req.destination !== "string" || !req.destination.startsWith("/")) {
      return json(res, "400 Bad Request", { error: "destination must be a string starting with /" });
    }
    const body = typeof req.body === "string" ? req.body : JSON.stringify(req.body ?? "");
    const id = String(messageSeq + 1);
    deliver(req.destination, Buffer.from(body), "text/plain");
    json(res, "202 Accepted", { id });
  });
});

app.get("/healthz", (res) => void res.end("ok"));
app.get("/readyz", (res) => void res.end("ok"));
app.any("/*", (res) => void res.writeStatus("404 Not Found").end("not found"));

app.listen(host, port, (token) => {
  if (!token) fail(`cannot listen on ${host}:${port}`);
  process.stdout.write(`herald-baseline listening on ${host}:${port} (pid ${process.pid})\n`);
});

const stop = (): void => process.exit(0);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

function intEnv(name: string, fallback: number): number {
  const v = env[name]?.trim();
  if (!v) return fallback;
  if (!/^\d+$/.test(v)) fail(`${name}: expected a whole number, got "${v}"`);
  return Number(v);
}

function bytesEnv(name: string, fallback: number): number {
  const v = env[name]?.trim();
  if (!v) return fallback;
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/i.exec(v);
  if (!m) fail(`${name}: expected a size like 65536, 64KiB or 1MiB, got "${v}"`);
  const unit = (m[2] ?? "b").toLowerCase();
  return Number(m[1]) * (unit === "kib" ? 1024 : unit === "mib" ? 1024 ** 2 : unit === "gib" ? 1024 ** 3 : 1);
}

function fail(message: string): never {
  process.stderr.write(`herald-baseline: ${message}\n`);
  process.exit(2);
}
