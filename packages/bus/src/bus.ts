/**
 * The bus relays a published message to every node that has a local subscriber for
 * its destination. It is at-most-once on its own: delivery guarantees are layered on
 * top by history (positions let a node notice and refill gaps).
 */

/** Position of a message in a destination's history stream. */
export interface StreamPosition {
  /** Monotonic offset within the stream, starting at 1. */
  readonly offset: number;
  /** Identifies one incarnation of the stream: a changed epoch means history was lost. */
  readonly epoch: string;
}

export interface BusMessage {
  /**
   * Channel-level destination. Broker destinations as the client sees them
   * (`/topic/x`, `/queue/x`), or for user destinations the resolved per-user form
   * `/user/{name}/queue/x` (the user segment URI-encoded), which no client can
   * subscribe to directly.
   */
  readonly destination: string;
  /** Unique id of this message, used as the STOMP `message-id`. */
  readonly id: string;
  /** Extra STOMP headers for the MESSAGE frame (never destination/subscription/message-id/content-length). */
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType?: string;
  readonly body: Uint8Array;
  /** Milliseconds since the epoch when the message was published at its origin (latency metrics). */
  readonly publishedAt: number;
  /** Set when the destination keeps history. */
  readonly position?: StreamPosition;
}

export type BusState = "up" | "down";

export interface BusEvents {
  message: (message: BusMessage) => void;
  state: (state: BusState) => void;
}

export class BusUnavailableError extends Error {
  override readonly name = "BusUnavailableError";
}

/** A batch publish (publishAll) refused before anything of it was sent: none of it was applied. */
export class BatchRefusedError extends Error {
  override readonly name: string = "BatchRefusedError";
}

/**
 * A batch that cannot be published atomically on Redis Cluster: its destinations live in
 * different hash slots (a MULTI or a script runs on one slot).
 */
export class CrossSlotError extends BatchRefusedError {
  override readonly name = "CrossSlotError";
}

export interface Bus {
  /**
   * Publish to every node subscribed to `message.destination` (including this one).
   * Resolves once the message is handed to the transport; rejects fast with
   * BusUnavailableError when the transport is down, never hangs.
   */
  publish(message: BusMessage): Promise<void>;
  /**
   * Publishes every message or none (a STOMP transaction's COMMIT): on Redis one MULTI/EXEC, in
   * process one synchronous step. Rejects with BatchRefusedError when nothing was sent (the
   * transport is down; CrossSlotError: on Redis Cluster the destinations do not share one hash
   * slot), with BusUnavailableError when the reply was lost (then Redis applied all of it or none).
   */
  publishAll(messages: readonly BusMessage[]): Promise<void>;
  /**
   * Reference-counted interest in a destination: the node starts receiving its
   * messages on the first call and stops after the matching number of unsubscribes.
   */
  subscribe(destination: string): void;
  unsubscribe(destination: string): void;
  /** Distinct destinations this node currently receives. */
  subscriptionCount(): number;
  on<E extends keyof BusEvents>(event: E, listener: BusEvents[E]): void;
  off<E extends keyof BusEvents>(event: E, listener: BusEvents[E]): void;
  readonly state: BusState;
  close(): Promise<void>;
}
