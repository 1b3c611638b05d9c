/**
 * A forked worker holding up to ~15,000 STOMP subscriber connections (one
 * process may open at most 20,000 files here). It counts deliveries, measures
 * each one's latency from the stamp in the body, and reports to the parent.
 */
import WebSocket from "ws";
import { Histogram } from "../histogram.js";
import { encodeFrame, FrameSplitter, nowNs, readStamp, type WireFrame } from "../stomp-wire.js";
import { PORT_LO, PORT_SPAN, type FromWorker, type OpenPlan, type Tick, type ToWorker, type WorkerStats } from "./protocol.js";

const PROTOCOLS = ["v12.stomp", "v11.stomp", "v10.stomp"];
const CONNECT = encodeFrame("CONNECT", { "accept-version": "1.2,1.1,1.0", host: "localhost", "heart-beat": "0,0" });
const MESSAGE_PREFIX = Buffer.from("MESSAGE\n");

interface Conn {
  index: number;
  ws: WebSocket;
  splitter: FrameSplitter;
  state: "connecting" | "connected" | "subscribed" | "closed";
  frozen: boolean;
  lastSeq: number;
  startedNs: number;
}

const conns: Conn[] = [];
const connectUs = new Histogram();
const latencyUs = new Histogram();
const stats = {
  attempted: 0,
  connected: 0,
  subscribed: 0,
  failed: 0,
  closedAfterSubscribe: 0,
  frozenClosed: 0,
  delivered: 0,
  deliveredFrozen: 0,
  unstamped: 0,
  outOfOrder: 0,
  stompErrors: 0,
  frozenErrors: 0,
  socketErrors: 0,
  bytesIn: 0,
};
const errorSamples: string[] = [];
const frozenErrorSamples: string[] = [];
let closing = false;

function send(m: FromWorker): void {
  process.send?.(m);
}

function noteError(what: string): void {
  if (errorSamples.length < 10) errorSamples.push(what);
}

function snapshot(): WorkerStats {
  return { ...stats, errorSamples, frozenErrorSamples, connectUs: connectUs.toData(), latencyUs: latencyUs.toData() };
}

function onDelivery(c: Conn, buf: Buffer, bodyStart: number, bodyEnd: number, now: number): void {
  const stamp = readStamp(buf, bodyStart, bodyEnd);
  if (c.frozen) stats.deliveredFrozen++;
  else stats.delivered++;
  if (!stamp) {
    stats.unstamped++;
    return;
  }
  if (stamp.seq < c.lastSeq) stats.outOfOrder++;
  else c.lastSeq = stamp.seq;
  if (!c.frozen) latencyUs.record((now - stamp.sentNs) / 1000);
}

function onFrame(c: Conn, f: WireFrame, now: number, plan: OpenPlan, done: () => void): void {
  switch (f.command) {
    case "CONNECTED": {
      c.state = "connected";
      stats.connected++;
      connectUs.record((now - c.startedNs) / 1000);
      const destination = plan.destinationMode === "own" ? `${plan.destination}${c.index}` : plan.destination;
      c.ws.send(encodeFrame("SUBSCRIBE", { id: plan.subscriptionId, destination, ack: "auto", receipt: `s${c.index}` }));
      return;
    }
    case "RECEIPT":
      if (c.state === "connected") {
        c.state = "subscribed";
        stats.subscribed++;
        if (c.frozen) c.ws.pause(); // stops reading: the server's buffers for it fill up
        done();
      }
      return;
    case "MESSAGE": {
      onDelivery(c, f.body, 0, f.body.length, now);
      return;
    }
    case "ERROR": {
      const what = `ERROR ${f.headers.get("message") ?? ""} ${f.body.toString("utf8", 0, Math.min(200, f.body.length))}`.trim();
      // A frozen subscriber is meant to be cut off: its ERROR is the policy working, not a fault.
      if (c.frozen) {
        stats.frozenErrors++;
        if (frozenErrorSamples.length < 3) frozenErrorSamples.push(what);
        return;
      }
      stats.stompErrors++;
      noteError(what);
      return;
    }
    default:
      noteError(`unexpected ${f.command} frame`);
  }
}

const MAX_PORT_TRIES = 10;

function openOne(plan: OpenPlan, i: number, done: () => void, attempt = 0): void {
  const index = plan.firstIndex + i;
  const url = plan.urls[index % plan.urls.length]!;
  const addresses = plan.localAddresses.length;
  const localAddress = plan.localAddresses[index % addresses];
  const slot = attempt === 0 ? Math.floor(index / addresses) + plan.portOffset : Math.floor(Math.random() * PORT_SPAN);
  const localPort = PORT_LO + (slot % PORT_SPAN);
  const ws = new WebSocket(url, PROTOCOLS, {
    perMessageDeflate: false,
    skipUTF8Validation: true,
    handshakeTimeout: plan.connectTimeoutMs,
    ...(localAddress ? { localAddress, localPort } : {}),
  });
  const c: Conn = { index, ws, splitter: new FrameSplitter(), state: "connecting", frozen: plan.frozen.includes(index), lastSeq: 0, startedNs: nowNs() };
  conns.push(c);
  if (attempt === 0) stats.attempted++;
  let portTaken = false;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    done();
  };
  const timer = setTimeout(() => {
    if (c.state !== "subscribed") {
      noteError(`connection ${index}: not subscribed after ${plan.connectTimeoutMs} ms (state ${c.state})`);
      ws.terminate();
    }
  }, plan.connectTimeoutMs);
  ws.on("open", () => ws.send(CONNECT));
  ws.on("message", (data: Buffer) => {
    const now = nowNs();
    stats.bytesIn += data.length;
    // Fast path: one whole MESSAGE frame per WebSocket message, as servers send them.
    if (data.length > 9 && data[data.length - 1] === 0 && data.compare(MESSAGE_PREFIX, 0, 8, 0, 8) === 0) {
      const headEnd = data.indexOf("\n\n", 8, "latin1");
      if (headEnd > 0 && data.indexOf(0, headEnd) === data.length - 1) {
        onDelivery(c, data, headEnd + 2, data.length - 1, now);
        return;
      }
    }
    try {
      c.splitter.push(data, (f) => onFrame(c, f, now, plan, finish));
    } catch (err) {
      stats.socketErrors++;
      noteError(`connection ${index}: ${(err as Error).message}`);
      ws.terminate();
    }
  });
  ws.on("error", (err: Error & { code?: string }) => {
    if (err.code === "EADDRINUSE" && c.state === "connecting" && attempt < MAX_PORT_TRIES) {
      portTaken = true; // someone holds this source port (another socket, or TIME_WAIT): try another
      return;
    }
    stats.socketErrors++;
    noteError(`connection ${index} (${localAddress ?? "default"} → ${url}): ${err.message}`);
  });
  ws.on("close", (code: number, reason: Buffer) => {
    const was = c.state;
    c.state = "closed";
    if (closing) return;
    if (was === "subscribed") {
      if (c.frozen) stats.frozenClosed++;
      else {
        stats.closedAfterSubscribe++;
        noteError(`connection ${index} closed by peer: ${code} ${reason.toString()}`);
      }
    } else if (portTaken) {
      clearTimeout(timer);
      conns.splice(conns.indexOf(c), 1);
      openOne(plan, i, done, attempt + 1);
    } else {
      stats.failed++;
      finish();
    }
  });
}

function open(plan: OpenPlan): void {
  let next = 0;
  let settled = 0;
  const launch = (): void => {
    while (next < plan.count && next - settled < plan.concurrency) openOne(plan, next++, onDone);
  };
  const onDone = (): void => {
    settled++;
    if (settled === plan.count) send({ type: "opened", stats: snapshot() });
    else launch();
  };
  if (plan.count === 0) send({ type: "opened", stats: snapshot() });
  launch();
}

function tick(): Tick {
  let minSeq = Infinity;
  let live = 0;
  for (const c of conns) {
    if (c.state !== "subscribed" || c.frozen) continue;
    live++;
    if (c.lastSeq < minSeq) minSeq = c.lastSeq;
  }
  return { minSeq: live === 0 ? -1 : minSeq, delivered: stats.delivered, live };
}

let ticker: NodeJS.Timeout | undefined;

process.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "open":
      open(m.plan);
      return;
    case "ticks":
      if (ticker) clearInterval(ticker);
      ticker = m.everyMs > 0 ? setInterval(() => send({ type: "tick", tick: tick() }), m.everyMs) : undefined;
      return;
    case "report":
      send({ type: "report", stats: snapshot() });
      return;
    case "thaw":
      for (const c of conns) if (c.frozen && c.state !== "closed") c.ws.resume();
      return;
    case "close":
      closing = true;
      if (ticker) clearInterval(ticker);
      for (const c of conns) c.ws.terminate();
      setImmediate(() => process.exit(0));
      return;
  }
});
process.on("disconnect", () => process.exit(0)); // the parent is gone: never linger
process.on("uncaughtException", (err) => {
  send({ type: "fatal", message: err.stack ?? err.message });
  process.exit(1);
});
