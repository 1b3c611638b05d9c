import { USER_PREFIX, type BusMessage, type StreamPosition } from "@herald/bus";
import { PublishRouter, type History, type HistoryPolicy } from "@herald/history";
import { counter, type Logger, type Registry } from "@herald/observability";
import type { Bus } from "@herald/bus";
import { DurableCursor, type CursorOwner, type CursorStore } from "./cursor-store.js";
import { DEAD_LETTER_PREFIX, deadLetterDestination, type DeliveryConfig } from "./delivery-config.js";
import { DeliveryHeaderError, HEADER } from "./delivery-headers.js";
import { GapFillingBus } from "./gap-filling-bus.js";
import { SubscriptionStream, type StreamSink } from "./subscription-stream.js";

export interface DeliveryOptions {
  /** The node's bus (as published to); the fan-out reads `delivery.bus`, which fills gaps. */
  bus: Bus;
  history: History;
  policy: HistoryPolicy;
  cursors: CursorStore;
  config: DeliveryConfig;
  logger: Logger;
  registry: Registry;
  /** Bytes queued on a connection above which a replay pauses. */
  highWaterBytes: number;
}

export interface StreamRequest {
  /** As the client wrote it, for messages. */
  readonly destination: string;
  readonly busDestination: string;
  readonly since: StreamPosition | undefined;
  readonly durableName: string | undefined;
  /** Who owns durable cursors: the user, else the CONNECT client-id (a namespace of its own). */
  readonly owner: CursorOwner | undefined;
  readonly autoAck: boolean;
  readonly sink: StreamSink;
}

/**
 * The node's delivery guarantees: publishes go through history where the policy keeps it,
 * the fan-out sees the bus through a gap filler, and subscriptions that recover or are durable
 * get a SubscriptionStream.
 */
export class Delivery {
  readonly bus: GapFillingBus;
  readonly config: DeliveryConfig;
  private readonly router: PublishRouter;
  private readonly metrics;

  constructor(private readonly o: DeliveryOptions) {
    this.config = o.config;
    this.router = new PublishRouter(o.bus, o.history, o.policy);
    this.metrics = {
      gaps: counter(o.registry, "bus_gaps_total", "Holes noticed in a destination's bus stream (re-read from history)"),
      lost: counter(o.registry, "bus_gap_messages_lost_total", "Messages of bus holes that history could no longer serve"),
      recoveries: counter(o.registry, "recoveries_total", "Subscriptions that recovered from history, by outcome", ["outcome"]),
      redeliveries: counter(o.registry, "redeliveries_total", "Messages sent again after a NACK"),
      deadLetters: counter(o.registry, "dead_letters_total", "Messages moved to a dead-letter destination"),
    };
    for (const outcome of ["complete", "too-old", "epoch-changed", "limit", "unavailable"]) this.metrics.recoveries.inc({ outcome }, 0);
    this.bus = new GapFillingBus(o.bus, o.history, {
      maxGap: o.config.maxGapFill,
      onGap: (destination, missing) => {
        this.metrics.gaps.inc();
        o.logger.warn({ destination, missing }, "gap in the bus stream: re-reading it from history");
      },
      onLost: (destination, missing, reason) => {
        this.metrics.lost.inc(missing);
        o.logger.error({ destination, missing, reason }, "messages of a bus gap could not be re-read from history");
      },
    });
  }

  /** Every publish of the node: through history when the destination keeps it (the message comes back positioned). */
  publish(message: BusMessage): Promise<BusMessage> {
    return this.router.publish(message);
  }

  /** A transaction's messages, all or none (see PublishRouter.publishAll). */
  publishAll(messages: readonly BusMessage[]): Promise<BusMessage[]> {
    return this.router.publishAll(messages);
  }

  keepsHistory(busDestination: string): boolean {
    return this.router.keepsHistory(busDestination);
  }

  /**
   * The stream for a new subscription, or undefined when it needs none (no history, or a plain
   * subscription to a topic: it stays on the shared fast path). Throws DeliveryHeaderError when
   * the SUBSCRIBE asks for what the destination cannot give.
   */
  openStream(req: StreamRequest): SubscriptionStream | undefined {
    const options = this.historyOf(req.busDestination);
    if (options === undefined) {
      if (req.since !== undefined || req.durableName !== undefined) {
        throw new DeliveryHeaderError(
          `${req.destination} keeps no history, so it cannot recover (${HEADER.sinceOffset}) nor be durable (${HEADER.durableName}); user destinations keep history, topics when configured in HERALD_HISTORY_TOPICS`,
        );
      }
      return undefined;
    }
    // A user's own destinations as the client named them: their queues, and their dead letters (/user/queue/dlq/…).
    const isUser = req.destination.startsWith(USER_PREFIX);
    const isDeadLetters = req.busDestination.startsWith(DEAD_LETTER_PREFIX);
    if (req.durableName !== undefined && req.owner === undefined) {
      throw new DeliveryHeaderError(`a durable subscription needs an authenticated user or a ${HEADER.clientId} header on CONNECT`);
    }
    // User destinations are durable by default (named after the destination): what a user has not
    // yet received waits in history for the next session (offline users).
    const cursorName = req.durableName ?? (isUser ? "" : undefined);
    if (cursorName === undefined && req.since === undefined) return undefined;
    const cursor =
      cursorName !== undefined && req.owner !== undefined
        ? new DurableCursor(this.o.cursors, req.owner, `${req.busDestination}|${cursorName}`, this.o.config.cursorFlushMs, (err) =>
            this.o.logger.warn({ err: errorText(err), destination: req.busDestination }, "durable cursor not written; will retry"),
          )
        : undefined;
    return new SubscriptionStream({
      busDestination: req.busDestination,
      history: this.o.history,
      sink: req.sink,
      ...(req.since !== undefined ? { since: req.since } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
      // A new user cursor gets what waited while the user was away; a new dead-letter reader gets the backlog.
      replayRetainedWhenNew: isUser || isDeadLetters,
      rememberStartMs: options.ttlSeconds * 1000,
      retainedMax: options.maxMessages,
      recoveryMax: this.o.config.recoveryMax,
      pageSize: this.o.config.pageSize,
      highWaterBytes: this.o.highWaterBytes,
      autoAck: req.autoAck,
      onRecovered: (position) => this.bus.seed(req.busDestination, position),
      onError: (err) => this.o.logger.warn({ err: errorText(err), destination: req.busDestination }, "history read failed during recovery"),
    });
  }

  /** History options of a destination: the policy's, and always some for dead letters (operators read them). */
  private historyOf(busDestination: string) {
    return this.o.policy.optionsFor(busDestination) ?? (busDestination.startsWith(DEAD_LETTER_PREFIX) ? this.o.config.deadLetterHistory : undefined);
  }

  recovered(outcome: string): void {
    this.metrics.recoveries.inc({ outcome });
  }

  redelivered(): void {
    this.metrics.redeliveries.inc();
  }

  /** Moves a message that was NACKed too often to its dead-letter destination (kept in history for operators). */
  async deadLetter(message: BusMessage, id: string, redeliveries: number): Promise<void> {
    const headers: Record<string, string> = {
      ...message.headers,
      [HEADER.originalDestination]: message.destination,
      "herald-original-message-id": message.id,
      [HEADER.deadLetterReason]: "nack-limit",
      [HEADER.redeliveryCount]: String(redeliveries),
    };
    if (message.position) {
      headers["herald-original-offset"] = String(message.position.offset);
      headers["herald-original-epoch"] = message.position.epoch;
    }
    const dead: BusMessage = {
      destination: deadLetterDestination(message.destination),
      id,
      headers,
      ...(message.contentType !== undefined ? { contentType: message.contentType } : {}),
      body: message.body,
      publishedAt: Date.now(),
    };
    await this.o.history.publish(dead, this.o.config.deadLetterHistory);
    this.metrics.deadLetters.inc();
  }

  async close(): Promise<void> {
    await this.o.cursors.close();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
