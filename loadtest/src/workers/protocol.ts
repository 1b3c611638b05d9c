/** Messages between the load generator's parent and its connection workers (child_process IPC). */
import type { HistogramData } from "../histogram.js";

export interface OpenPlan {
  /** ws:// URLs; connection i goes to urls[i % urls.length] (the cluster spreads over nodes). */
  urls: string[];
  /** Global index of this worker's first connection (names destinations, picks source addresses). */
  firstIndex: number;
  count: number;
  /** Source addresses; connection i binds localAddresses[i % length]. */
  localAddresses: string[];
  /**
   * Source ports are chosen here, not by the kernel: bind() to an address with
   * port 0 scans for a free port and gets quadratically slow with tens of
   * thousands of sockets. Connection i uses port PORT_LO + (portOffset + i / addresses) % PORT_SPAN.
   */
  portOffset: number;
  /** "shared": every connection subscribes to `destination`; "own": to destination + index. */
  destinationMode: "shared" | "own";
  destination: string;
  subscriptionId: string;
  /** Connections opened at once by this worker. */
  concurrency: number;
  /** Global indexes of connections that stop reading once subscribed (slow consumers). */
  frozen: number[];
  connectTimeoutMs: number;
}

export type ToWorker =
  | { type: "open"; plan: OpenPlan }
  | { type: "ticks"; everyMs: number }
  | { type: "report" }
  /** Frozen connections start reading again (to see what reached them and whether they were closed). */
  | { type: "thaw" }
  | { type: "close" };

export interface WorkerStats {
  attempted: number;
  connected: number;
  /** Connections that got CONNECTED and the RECEIPT of their SUBSCRIBE. */
  subscribed: number;
  failed: number;
  /** Connections closed by the server or network after subscribing. */
  closedAfterSubscribe: number;
  frozenClosed: number;
  delivered: number;
  /** Deliveries to frozen connections (counted when they are read at the end, if ever). */
  deliveredFrozen: number;
  /** MESSAGE frames whose body had no readable stamp. */
  unstamped: number;
  /** Sequence numbers that arrived lower than one already seen on the same connection. */
  outOfOrder: number;
  /** ERROR frames received by healthy connections. */
  stompErrors: number;
  /** ERROR frames received by frozen connections (the slow-consumer policy at work). */
  frozenErrors: number;
  frozenErrorSamples: string[];
  socketErrors: number;
  errorSamples: string[];
  connectUs: HistogramData;
  latencyUs: HistogramData;
  bytesIn: number;
}

export interface Tick {
  /** Lowest last-seen sequence number over live, healthy (not frozen) subscribed connections; -1 if none. */
  minSeq: number;
  delivered: number;
  live: number;
}

export type FromWorker =
  | { type: "opened"; stats: WorkerStats }
  | { type: "tick"; tick: Tick }
  | { type: "report"; stats: WorkerStats }
  | { type: "fatal"; message: string };

/** The source port range the load workers bind in (retrying elsewhere on EADDRINUSE). */
export const PORT_LO = 10_000;
export const PORT_SPAN = 55_000;
