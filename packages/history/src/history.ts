import type { BusMessage, StreamPosition } from "@herald/bus";

/**
 * History gives the messages of a destination positions, so a client that comes back with the
 * last position it saw can get exactly what it missed, or learn that it cannot.
 *
 * A destination's stream is a sequence of messages with offsets 1, 2, 3, … and one epoch. The
 * epoch names one incarnation of the stream: when the stream's state is lost (it expired, Redis
 * restarted without persistence, a key was evicted) the next append starts a new epoch at
 * offset 1, and a position of the old epoch can no longer be served.
 *
 * Only a publish creates a stream: reading one that does not exist creates nothing (subscribers
 * cannot fill the store). Its position is { offset: 0, epoch: "" } (EMPTY_EPOCH), which means
 * "before the first message of whichever epoch the stream starts with": reading since it returns
 * everything of the stream's current epoch, as if it were { offset: 0, epoch: <that epoch> }.
 */

/** The epoch of a position taken while the stream did not exist (see above). */
export const EMPTY_EPOCH = "";

/** Per destination stream: size cap and time to live (refreshed on every append). */
export interface HistoryOptions {
  /** Keep at most this many of the newest messages (an integer >= 1). */
  maxMessages: number;
  /** The whole stream (messages, offset counter and epoch) is forgotten this long after its last append. */
  ttlSeconds: number;
}

export type IncompleteReason = "epoch-changed" | "too-old" | "limit";

export interface ReadResult {
  /** Each with `.position`, oldest first. */
  messages: BusMessage[];
  /** False when `since` is older than what history still holds (trimmed/expired) or its epoch differs: the app must reload. */
  complete: boolean;
  /**
   * Why the result is incomplete:
   * - "epoch-changed": `since` belongs to another incarnation of the stream (or lies ahead of its top); `messages` is empty.
   * - "too-old": messages after `since` were trimmed or lost; `messages` is empty.
   * - "limit": more than `limit` messages follow `since`; `messages` holds the first `limit` of them,
   *   and reading again from the last one continues.
   */
  reason?: IncompleteReason;
  /** Current top of the stream (offset 0 + current epoch when empty). */
  latest: StreamPosition;
}

/** One message of an atomic batch: with `options` it is kept in history, without it only published. */
export interface BatchItem {
  readonly message: BusMessage;
  readonly options: HistoryOptions | undefined;
}

export interface History {
  /**
   * Appends to the destination's stream AND publishes on the bus, atomically ordered:
   * the order in history is the order of delivery. Resolves with the message carrying its position.
   */
  publish(message: BusMessage, options: HistoryOptions): Promise<BusMessage>;
  /**
   * Publishes a batch all or nothing (a STOMP transaction's COMMIT): items with options as by
   * publish(), the others only on the bus, in one atomic step (Redis: one MULTI/EXEC). Resolves
   * with the messages as delivered, in order. Rejects with BatchRefusedError (of @herald/bus) when
   * nothing was sent: Redis unavailable, or on Redis Cluster destinations in several hash slots
   * (CrossSlotError); with HistoryUnavailableError when the reply was lost (Redis applied all or none).
   */
  publishAll(items: readonly BatchItem[]): Promise<BusMessage[]>;
  /**
   * Messages after `since` (exclusive), oldest first, at most `limit`. `since` with EMPTY_EPOCH
   * (offset 0) reads from the start of the current epoch. Creates nothing: on a stream that does
   * not exist, `latest` is { offset: 0, epoch: EMPTY_EPOCH }, and any other `since` is "epoch-changed".
   */
  readSince(destination: string, since: StreamPosition, limit: number): Promise<ReadResult>;
  /**
   * Current top of a stream (for a SUBSCRIBE without position: start live from here); for a
   * stream that does not exist, { offset: 0, epoch: EMPTY_EPOCH }, and nothing is created: a
   * client that starts there still recovers everything published after it (see readSince).
   */
  latest(destination: string): Promise<StreamPosition>;
  close(): Promise<void>;
}

/** A history operation failed: bad input, or the store refused it. */
export class HistoryError extends Error {
  override readonly name: string = "HistoryError";
}

/** The store could not be reached (Redis down, timeout, closed). Retrying later may succeed. */
export class HistoryUnavailableError extends HistoryError {
  override readonly name = "HistoryUnavailableError";
}

export function checkDestination(destination: unknown, op: string): asserts destination is string {
  if (typeof destination !== "string" || destination === "") {
    throw new HistoryError(`history.${op}: destination must be a non-empty string, got ${JSON.stringify(destination)}`);
  }
}

export function checkMessage(message: unknown): asserts message is BusMessage {
  if (typeof message !== "object" || message === null) throw new HistoryError(`history.publish: message must be an object, got ${String(message)}`);
  const m = message as Partial<BusMessage>;
  checkDestination(m.destination, "publish");
  if (!(m.body instanceof Uint8Array)) throw new HistoryError(`history.publish: message.body of "${m.destination}" must be a Uint8Array`);
}

export function checkOptions(options: unknown, destination: string): asserts options is HistoryOptions {
  const o = options as Partial<HistoryOptions> | undefined;
  if (typeof o !== "object" || o === null) throw new HistoryError(`history.publish("${destination}"): options { maxMessages, ttlSeconds } are required`);
  if (!Number.isSafeInteger(o.maxMessages) || (o.maxMessages as number) < 1) {
    throw new HistoryError(`history.publish("${destination}"): maxMessages must be an integer >= 1, got ${String(o.maxMessages)}`);
  }
  if (typeof o.ttlSeconds !== "number" || !Number.isFinite(o.ttlSeconds) || o.ttlSeconds <= 0) {
    throw new HistoryError(`history.publish("${destination}"): ttlSeconds must be a number > 0, got ${String(o.ttlSeconds)}`);
  }
}

export function checkPosition(since: unknown, destination: string): asserts since is StreamPosition {
  const p = since as Partial<StreamPosition> | undefined;
  if (typeof p !== "object" || p === null) throw new HistoryError(`history.readSince("${destination}"): since must be { offset, epoch }, got ${String(since)}`);
  if (!Number.isSafeInteger(p.offset) || (p.offset as number) < 0) {
    throw new HistoryError(`history.readSince("${destination}"): since.offset must be an integer >= 0, got ${String(p.offset)}`);
  }
  if (typeof p.epoch !== "string") throw new HistoryError(`history.readSince("${destination}"): since.epoch must be a string, got ${typeof p.epoch}`);
}

export function checkLimit(limit: unknown, destination: string): asserts limit is number {
  if (!Number.isSafeInteger(limit) || (limit as number) < 1) {
    throw new HistoryError(`history.readSince("${destination}"): limit must be an integer >= 1, got ${String(limit)}`);
  }
}

/** The message without a position, for encoding before one is assigned. */
export function withoutPosition(message: BusMessage): BusMessage {
  if (message.position === undefined) return message;
  const { position: _drop, ...rest } = message;
  return rest;
}
