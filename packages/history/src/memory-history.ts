import { BatchRefusedError, type Bus, type BusMessage, type StreamPosition } from "@herald/bus";
import { newEpoch } from "./epoch.js";
import {
  EMPTY_EPOCH,
  checkDestination,
  checkLimit,
  checkMessage,
  checkOptions,
  checkPosition,
  HistoryError,
  HistoryUnavailableError,
  withoutPosition,
  type BatchItem,
  type History,
  type HistoryOptions,
  type ReadResult,
} from "./history.js";
import { RingBuffer } from "./ring-buffer.js";

export interface MemoryHistoryOptions {
  /**
   * How many of a stream's newest message ids are remembered to recognise a repeated publish
   * (same message id): it gets the original position and is neither appended nor delivered
   * again. Default 64; 0 turns it off.
   */
  dedupeWindow?: number;
  /** How often expired streams are dropped from memory. Default 60000 ms. */
  sweepIntervalMs?: number;
}

interface Stream {
  readonly epoch: string;
  /** Offset of the newest message; 0 while empty. */
  top: number;
  readonly ring: RingBuffer<BusMessage>;
  /** Positions of the newest message ids, for recognising a repeated publish. */
  readonly recent: RingBuffer<{ id: string; position: StreamPosition }> | undefined;
  expiresAt: number;
}

/**
 * History of the embedded default: one ring buffer per destination, in this process.
 * Appending and handing the message to the bus happen in the same synchronous step, so the
 * order of offsets is the order in which the bus sees the messages.
 */
export class MemoryHistory implements History {
  private readonly streams = new Map<string, Stream>();
  private readonly dedupeWindow: number;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly bus: Bus,
    options: MemoryHistoryOptions = {},
  ) {
    if (!bus || typeof bus.publish !== "function") throw new HistoryError("MemoryHistory needs a bus to publish on");
    this.dedupeWindow = options.dedupeWindow ?? 64;
    if (!Number.isSafeInteger(this.dedupeWindow) || this.dedupeWindow < 0) throw new HistoryError(`MemoryHistory: dedupeWindow must be an integer >= 0, got ${String(options.dedupeWindow)}`);
    const sweepMs = options.sweepIntervalMs ?? 60_000;
    if (!(typeof sweepMs === "number" && sweepMs > 0)) throw new HistoryError(`MemoryHistory: sweepIntervalMs must be > 0, got ${String(sweepMs)}`);
    this.sweeper = setInterval(() => this.sweep(), sweepMs);
    this.sweeper.unref();
  }

  /** Streams held in memory right now (expired ones count until the next sweep or access). */
  get size(): number {
    return this.streams.size;
  }

  publish(message: BusMessage, options: HistoryOptions): Promise<BusMessage> {
    try {
      checkMessage(message);
      checkOptions(options, message.destination);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new HistoryUnavailableError("history is closed"));
    const { stored, repeated } = this.append(message, options, Date.now());
    if (repeated) return Promise.resolve(stored);
    // LocalBus never rejects. With a bus that does, the message stays in history (a retry with the
    // same id is recognised, not appended again) and subscribers find it through the offset gap.
    return this.bus.publish(stored).then(() => stored);
  }

  /** Everything checked first, then appended and handed to the bus in one synchronous step: all or nothing. */
  publishAll(items: readonly BatchItem[]): Promise<BusMessage[]> {
    try {
      for (const item of items) {
        checkMessage(item?.message);
        if (item.options !== undefined) checkOptions(item.options, item.message.destination);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new BatchRefusedError("history is closed; nothing was published"));
    const now = Date.now();
    const delivered: BusMessage[] = [];
    const toBus: BusMessage[] = [];
    for (const { message, options } of items) {
      if (options === undefined) {
        delivered.push(message);
        toBus.push(message);
        continue;
      }
      const { stored, repeated } = this.append(message, options, now);
      delivered.push(stored);
      if (!repeated) toBus.push(stored);
    }
    return this.bus.publishAll(toBus).then(() => delivered);
  }

  /** Appends one message (or recognises a repeated id: then nothing is appended). */
  private append(message: BusMessage, options: HistoryOptions, now: number): { stored: BusMessage; repeated: boolean } {
    const stream = this.stream(message.destination, now);
    const seen = message.id !== "" ? this.seen(stream, message.id) : undefined;
    if (seen) return { stored: { ...withoutPosition(message), position: seen }, repeated: true };
    stream.ring.resize(options.maxMessages);
    stream.top++;
    const stored: BusMessage = {
      ...withoutPosition(message),
      // A copy: the codec's bodies may be views on a shared slab, which holding them would pin.
      body: Uint8Array.prototype.slice.call(message.body),
      position: { offset: stream.top, epoch: stream.epoch },
    };
    stream.ring.push(stored);
    if (message.id !== "") stream.recent?.push({ id: message.id, position: stored.position! });
    stream.expiresAt = now + options.ttlSeconds * 1000;
    return { stored, repeated: false };
  }

  readSince(destination: string, since: StreamPosition, limit: number): Promise<ReadResult> {
    try {
      checkDestination(destination, "readSince");
      checkPosition(since, destination);
      checkLimit(limit, destination);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new HistoryUnavailableError("history is closed"));
    const s = this.find(destination, Date.now());
    const latest: StreamPosition = s ? { offset: s.top, epoch: s.epoch } : { offset: 0, epoch: EMPTY_EPOCH };
    // Taken before the stream existed: from the start of its epoch (see History).
    const epoch = since.epoch === EMPTY_EPOCH && since.offset === 0 ? latest.epoch : since.epoch;
    // A position ahead of the top cannot come from this incarnation either.
    if (epoch !== latest.epoch || since.offset > latest.offset) return Promise.resolve({ messages: [], complete: false, reason: "epoch-changed", latest });
    if (s === undefined) return Promise.resolve({ messages: [], complete: true, latest });
    if (since.offset === s.top) return Promise.resolve({ messages: [], complete: true, latest });
    const first = s.top - s.ring.length + 1;
    if (s.ring.length === 0 || first > since.offset + 1) return Promise.resolve({ messages: [], complete: false, reason: "too-old", latest });
    const after = s.top - since.offset;
    const n = Math.min(after, limit);
    const messages: BusMessage[] = [];
    for (let i = 0; i < n; i++) messages.push(s.ring.at(since.offset + 1 - first + i)!);
    return Promise.resolve(after > limit ? { messages, complete: false, reason: "limit", latest } : { messages, complete: true, latest });
  }

  latest(destination: string): Promise<StreamPosition> {
    try {
      checkDestination(destination, "latest");
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new HistoryUnavailableError("history is closed"));
    const s = this.find(destination, Date.now());
    return Promise.resolve(s ? { offset: s.top, epoch: s.epoch } : { offset: 0, epoch: EMPTY_EPOCH });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    this.streams.clear();
  }

  /** The live stream of a destination, or undefined (an expired one is dropped): reading creates nothing. */
  private find(destination: string, now: number): Stream | undefined {
    const s = this.streams.get(destination);
    if (s === undefined || s.expiresAt > now) return s;
    this.streams.delete(destination);
    return undefined;
  }

  /** The stream a publish appends to, created (new epoch) when missing or expired; append sets its TTL. */
  private stream(destination: string, now: number): Stream {
    let s = this.find(destination, now);
    if (s === undefined) {
      s = { epoch: newEpoch(), top: 0, ring: new RingBuffer<BusMessage>(1),
        recent: this.dedupeWindow > 0 ? new RingBuffer(this.dedupeWindow) : undefined,
        expiresAt: now };
      this.streams.set(destination, s);
    }
    return s;
  }

  private seen(stream: Stream, id: string): StreamPosition | undefined {
    const r = stream.recent;
    if (!r) return undefined;
    for (let i = r.length - 1; i >= 0; i--) if (r.at(i)!.id === id) return r.at(i)!.position;
    return undefined;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [d, s] of this.streams) if (s.expiresAt <= now) this.streams.delete(d);
  }
}
