import { clusterNodeTarget, createRedisClient, parseRedisUrl, type Cluster, type Redis, type RedisTarget } from "@herald/redis";
import { BatchRefusedError, BusUnavailableError, type Bus, type BusEvents, type BusMessage, type BusState } from "./bus.js";
import { randomBytes } from "node:crypto";
import type { ChannelSubscriber, SubscriberHooks } from "./channel-subscriber.js";
import { closeConnection, ConnectionSubscriber } from "./connection-subscriber.js";
import { decodeEnvelopeWithOrigin, encodeEnvelope } from "./envelope.js";
import { checkOneSlot } from "./one-slot.js";
import { RefCounts } from "./ref-counts.js";
import { ShardSubscriber } from "./shard-subscriber.js";
import { Listeners } from "./typed-emitter.js";

export const DEFAULT_CHANNEL_PREFIX = "herald:bus:";

const RESOLVED: Promise<void> = Promise.resolve();

interface InflightPublish {
  readonly at: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export interface RedisBusOptions {
  /** REDIS_URL (see @herald/redis); give this or `target`. */
  redisUrl?: string;
  target?: RedisTarget;
  /** Channel of destination D is `channelPrefix + D`. Default "herald:bus:". */
  channelPrefix?: string;
  /** Names the connections (`CLIENT LIST`: herald:<name>:bus-pub / bus-sub). Default "node". */
  name?: string;
  /**
   * A publish that gets no reply within this time rejects with BusUnavailableError. Default 5000 ms.
   * A safety net for a silent network; a dropped connection fails in-flight publishes at once.
   */
  publishTimeoutMs?: number;
  /** A payload on a subscribed channel that is not a valid envelope (already counted in stats.malformed). */
  onMalformed?: (error: Error, channel: string) => void;
  /** Connection errors reported by ioredis, and exceptions thrown by 'message' listeners. */
  onError?: (error: Error) => void;
}

export interface RedisBusStats {
  /** Messages handed to 'message' listeners. */
  received: number;
  /** Payloads dropped because they were not valid envelopes. */
  malformed: number;
  /** Transitions to "down". */
  outages: number;
}

type Client = Redis | Cluster;

/**
 * Bus over Redis pub/sub. Destination D travels on channel `prefix + D`; on Redis Cluster on a
 * sharded channel (SPUBLISH/SSUBSCRIBE), so a message only reaches the shard owning its slot.
 *
 * A node SUBSCRIBEs to a channel only while it has a local subscriber (reference-counted) and
 * never uses pattern subscriptions. publish() delivers to the node's own subscribers at once
 * (without a Redis round trip, and even while Redis is down); the envelope names its origin,
 * so the copy that comes back through Redis is dropped rather than delivered twice.
 *
 * A publisher connection (auto-pipelined: all publishes of one event-loop turn leave in one
 * write; no offline queue, so publish fails fast while Redis is away) and a ChannelSubscriber
 * (one connection, or one per shard master on a cluster) that restores exactly the channels
 * wanted after every reconnect. `state` is "down" until both are ready, and whenever either is not.
 */
export class RedisBus implements Bus {
  readonly stats: RedisBusStats = { received: 0, malformed: 0, outages: 0 };
  private readonly interest = new RefCounts();
  private readonly listeners = new Listeners<BusEvents>();
  private readonly prefix: string;
  private readonly sharded: boolean;
  private readonly pub: Client;
  private readonly sub: ChannelSubscriber;
  private readonly publishTimeoutMs: number;
  /**
   * Publishes awaiting a reply, oldest first: failed at once when the publisher's connection
   * drops, and by one timer when the oldest waited longer than publishTimeoutMs (a timer per
   * publish cost more than the rest of publish).
   */
  private readonly inflight = new Set<InflightPublish>();
  private timeoutSweep: NodeJS.Timeout | undefined;
  /** Messages for node-local subscribers, delivered together on one microtask. */
  private localQueue: BusMessage[] = [];
  private readonly flushLocal = (): void => {
    const queue = this.localQueue;
    this.localQueue = [];
    for (let i = 0; i < queue.length; i++) this.deliver(queue[i]!);
  };
  private current: BusState = "down";
  /** Tags this instance's publishes so it can skip its own echo from Redis. */
  private readonly origin = randomBytes(8).toString("base64url");
  private closed = false;

  constructor(private readonly options: RedisBusOptions) {
    const target = options.target ?? (options.redisUrl !== undefined ? parseRedisUrl(options.redisUrl) : undefined);
    if (!target) throw new Error("RedisBus needs redisUrl or target");
    this.prefix = options.channelPrefix ?? DEFAULT_CHANNEL_PREFIX;
    if (typeof this.prefix !== "string") throw new Error("RedisBus: channelPrefix must be a string");
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5000;
    if (!(this.publishTimeoutMs > 0)) throw new Error(`RedisBus: publishTimeoutMs must be > 0, got ${options.publishTimeoutMs}`);
    this.sharded = target.kind === "cluster";
    const name = options.name ?? "node";
    this.pub = createRedisClient(target, { name: `${name}:bus-pub`, offlineQueue: false, autoPipelining: true });
    const onError = (err: Error) => this.options.onError?.(err);
    // ioredis logs "Unhandled error event" without a listener; errors are expected during outages.
    this.pub.on("error", onError);
    this.pub.on("node error", onError);
    for (const ev of ["ready", "close", "reconnecting", "end"]) this.pub.on(ev, () => this.updateState());
    this.pub.on("close", () => this.failInflight("connection closed"));

    const hooks: SubscriberHooks = {
      onMessage: (ch, payload) => this.onPayload(ch, payload),
      onChange: () => this.updateState(),
      onError,
    };
    const subscriberPurpose = { name: `${name}:bus-sub`, offlineQueue: false, subscriber: true };
    this.sub =
      target.kind === "cluster"
        ? new ShardSubscriber(
            {
              topology: this.pub as Cluster,
              connect: (host, port) => createRedisClient(clusterNodeTarget(target, host, port), subscriberPurpose) as Redis,
            },
            hooks,
          )
        : new ConnectionSubscriber(createRedisClient(target, subscriberPurpose) as Redis, hooks);
  }

  get state(): BusState {
    return this.current;
  }

  publish(message: BusMessage): Promise<void> {
    let payload: Buffer;
    try {
      checkDestination(message?.destination, "publish");
      payload = encodeEnvelope(message, this.origin);
    } catch (err) {
      return Promise.reject(err);
    }
    // Node-local subscribers do not wait for Redis (nor miss out while it is down);
    // the copy that comes back through Redis is recognised by its origin and dropped.
    if (this.interest.has(message.destination) && this.localQueue.push(message) === 1) void RESOLVED.then(this.flushLocal);
    if (this.closed) return Promise.reject(new BusUnavailableError("Redis is unavailable: the bus is closed"));
    if (this.pub.status !== "ready") {
      return Promise.reject(new BusUnavailableError(`Redis is unavailable: publisher connection is ${this.pub.status}`));
    }
    const channel = this.prefix + message.destination;
    return new Promise<void>((resolve, reject) => {
      const entry: InflightPublish = { at: Date.now(), resolve, reject };
      this.inflight.add(entry);
      this.timeoutSweep ??= this.startTimeoutSweep();
      const sent = this.sharded ? this.pub.spublish(channel, payload) : this.pub.publish(channel, payload);
      sent.then(
        () => {
          if (this.inflight.delete(entry)) resolve();
        },
        (err: unknown) => this.failOne(entry, err instanceof Error ? err.message : String(err)),
      );
    });
  }

  /**
   * All or nothing: one MULTI/EXEC. No node-local shortcut and no origin tag: every copy, this
   * node's included, comes back through Redis, so a batch that fails reaches no one. On a cluster
   * a MULTI runs on one slot, so the channels must share one.
   */
  publishAll(messages: readonly BusMessage[]): Promise<void> {
    if (messages.length === 0) return RESOLVED;
    const payloads: Buffer[] = [];
    try {
      for (const m of messages) {
        checkDestination(m?.destination, "publishAll");
        payloads.push(encodeEnvelope(m));
      }
    } catch (err) {
      return Promise.reject(err);
    }
    try {
      if (this.sharded) checkOneSlot(messages.map((m) => m.destination), this.prefix);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.closed) return Promise.reject(new BatchRefusedError("Redis is unavailable: the bus is closed; nothing was published"));
    if (this.pub.status !== "ready") {
      return Promise.reject(new BatchRefusedError(`Redis is unavailable (publisher connection is ${this.pub.status}); nothing was published`));
    }
    const multi = this.pub.multi();
    for (let i = 0; i < messages.length; i++) {
      const channel = this.prefix + messages[i]!.destination;
      if (this.sharded) multi.spublish(channel, payloads[i]!);
      else multi.publish(channel, payloads[i]!);
    }
    return new Promise<void>((resolve, reject) => {
      const entry: InflightPublish = {
        at: Date.now(),
        resolve,
        reject: (err) => reject(new BusUnavailableError(`${err.message} (the batch was sent as one MULTI: Redis applied all of it or none)`)),
      };
      this.inflight.add(entry);
      this.timeoutSweep ??= this.startTimeoutSweep();
      multi.exec().then(
        () => {
          if (this.inflight.delete(entry)) resolve();
        },
        (err: unknown) => {
          // The connection dropped in this very turn (its 'close' not yet seen): ioredis refused
          // every command of the MULTI without writing it, so nothing of the batch was sent.
          if (neverWritten(err)) {
            if (this.inflight.delete(entry)) reject(new BatchRefusedError(`Redis is unavailable (the publisher connection just closed); nothing was published`));
            return;
          }
          this.failOne(entry, batchErrorText(err));
        },
      );
    });
  }

  subscribe(destination: string): void {
    checkDestination(destination, "subscribe");
    if (this.closed) return;
    // While Redis is down the subscriber only records the channel; it subscribes on reconnect.
    if (this.interest.acquire(destination)) this.sub.add(this.prefix + destination);
  }

  unsubscribe(destination: string): void {
    checkDestination(destination, "unsubscribe");
    if (this.closed) return;
    if (this.interest.release(destination)) this.sub.remove(this.prefix + destination);
  }

  subscriptionCount(): number {
    return this.interest.size;
  }

  on<E extends keyof BusEvents>(event: E, listener: BusEvents[E]): void {
    this.listeners.on(event, listener);
  }

  off<E extends keyof BusEvents>(event: E, listener: BusEvents[E]): void {
    this.listeners.off(event, listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.current = "down";
    // QUIT is answered after the publishes before it, so a graceful close loses none of them.
    await Promise.all([closeConnection(this.pub), this.sub.close()]);
    this.failInflight("the bus is closed");
  }

  private updateState(): void {
    if (this.closed) return;
    const next: BusState = this.pub.status === "ready" && this.sub.ready ? "up" : "down";
    if (next === this.current) return;
    this.current = next;
    if (next === "down") this.stats.outages++;
    this.listeners.emit("state", next);
  }

  private onPayload(channelBuf: Buffer, payload: Buffer): void {
    const channel = channelBuf.toString("utf8");
    if (!channel.startsWith(this.prefix)) return;
    const destination = channel.slice(this.prefix.length);
    // A message can still arrive between our UNSUBSCRIBE and Redis processing it.
    if (!this.interest.has(destination)) return;
    let message: BusMessage;
    try {
      const decoded = decodeEnvelopeWithOrigin(payload);
      if (decoded.origin === this.origin) return;
      message = decoded.message;
      if (message.destination !== destination) {
        throw new Error(`envelope destination "${message.destination}" does not match channel "${channel}"`);
      }
    } catch (err) {
      this.stats.malformed++;
      this.options.onMalformed?.(err as Error, channel);
      return;
    }
    this.stats.received++;
    this.deliver(message);
  }

  private deliver(message: BusMessage): void {
    if (!this.interest.has(message.destination)) return;
    try {
      this.listeners.emit("message", message);
    } catch (err) {
      // A throwing listener must not break the Redis connection's reply parser.
      this.options.onError?.(err as Error);
    }
  }

  private failInflight(reason: string): void {
    for (const entry of [...this.inflight]) this.failOne(entry, reason);
  }

  private failOne(entry: InflightPublish, reason: string): void {
    if (this.inflight.delete(entry)) entry.reject(new BusUnavailableError(`Redis is unavailable: ${reason}`));
  }

  /** One timer while publishes are in flight: fails those older than publishTimeoutMs (within a quarter of it). */
  private startTimeoutSweep(): NodeJS.Timeout {
    const timeout = this.publishTimeoutMs;
    const timer = setInterval(() => {
      const now = Date.now();
      for (const entry of this.inflight) {
        if (now - entry.at < timeout) break; // oldest first: the rest are younger
        this.failOne(entry, `no reply to PUBLISH within ${timeout} ms`);
      }
      if (this.inflight.size === 0) {
        clearInterval(timer);
        this.timeoutSweep = undefined;
      }
    }, Math.max(10, Math.min(1000, Math.floor(timeout / 4))));
    timer.unref();
    return timer;
  }
}

/** An EXEC failure with the errors of the commands before it (ioredis puts them in previousErrors). */
/** ioredis's refusal of a command it did not write (no offline queue, stream not writable). */
const NOT_WRITTEN = "Stream isn't writeable and enableOfflineQueue options is false";

function neverWritten(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const previous = (err as Error & { previousErrors?: Error[] }).previousErrors ?? [];
  return [err, ...previous].every((e) => e.message === NOT_WRITTEN);
}

function batchErrorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const previous = (err as Error & { previousErrors?: Error[] }).previousErrors ?? [];
  return [err.message, ...previous.map((e) => e.message)].join("; ");
}

function checkDestination(destination: unknown, op: string): asserts destination is string {
  if (typeof destination !== "string" || destination === "") {
    throw new TypeError(`RedisBus.${op}: destination must be a non-empty string, got ${JSON.stringify(destination)}`);
  }
}
