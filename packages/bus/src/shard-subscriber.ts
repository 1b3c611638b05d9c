import { keySlot, type Cluster, type Redis } from "@herald/redis";
import type { ChannelSubscriber, SubscriberHooks } from "./channel-subscriber.js";
import { closeConnection } from "./connection-subscriber.js";

export interface ShardSubscriberOptions {
  /**
   * A cluster client whose slot map (`slots`, refreshed on MOVED, on reconnect and periodically)
   * says which master owns each channel. Its 'refresh' and 'ready' events trigger re-placement.
   */
  topology: Cluster;
  /** Opens a subscriber connection to one master: reconnecting by itself, never resubscribing by itself. */
  connect(host: string, port: number): Redis;
}

/**
 * Sharded pub/sub on Redis Cluster: each channel is SSUBSCRIBEd on the master that owns its slot,
 * over one connection per such master, so a message only travels to the shard that owns it.
 *
 * This class owns the placement rather than ioredis's sharded subscribers, whose recovery after a
 * whole-cluster restart could stall for good (a subscriber stopped while connecting left its
 * reset pending forever). Here the state is plain: `wanted` channels, where each is `placed`,
 * and the connections; a connection's 'ready' subscribes everything it owns, its 'close'
 * forgets what was placed on it, and every slot-map refresh moves channels whose owner changed.
 */
export class ShardSubscriber implements ChannelSubscriber {
  /** Channel → its slot. */
  private readonly wanted = new Map<string, number>();
  /** Channel → node key ("host:port") of the connection it is SSUBSCRIBEd on. */
  private readonly placed = new Map<string, string>();
  /** Wanted channels whose slot has no known owner yet (slot map empty or incomplete). */
  private readonly homeless = new Set<string>();
  private readonly shards = new Map<string, Redis>();
  private closed = false;

  constructor(
    private readonly options: ShardSubscriberOptions,
    private readonly hooks: SubscriberHooks,
  ) {
    const reconcile = () => this.reconcile();
    options.topology.on("refresh", reconcile);
    options.topology.on("ready", reconcile);
  }

  get ready(): boolean {
    if (this.homeless.size > 0) return false;
    for (const c of this.shards.values()) if (c.status !== "ready") return false;
    return true;
  }

  add(channel: string): void {
    if (this.closed || this.wanted.has(channel)) return;
    this.wanted.set(channel, keySlot(channel));
    this.place(channel);
    this.hooks.onChange();
  }

  remove(channel: string): void {
    if (!this.wanted.delete(channel)) return;
    this.homeless.delete(channel);
    const at = this.placed.get(channel);
    if (at !== undefined) this.unplace(channel, at);
    this.hooks.onChange();
  }

  async close(): Promise<void> {
    this.closed = true;
    const shards = [...this.shards.values()];
    this.shards.clear();
    await Promise.all(shards.map((c) => closeConnection(c)));
  }

  /** The master owning `channel`'s slot per the current slot map, as "host:port". */
  private ownerOf(channel: string): string | undefined {
    return this.options.topology.slots[this.wanted.get(channel)!]?.[0];
  }

  /** Make sure `channel` is (or will be, once its connection is ready) subscribed on its owner. */
  private place(channel: string): void {
    const owner = this.ownerOf(channel);
    if (owner === undefined) {
      this.homeless.add(channel);
      return;
    }
    this.homeless.delete(channel);
    const at = this.placed.get(channel);
    if (at === owner) return;
    if (at !== undefined) this.unplace(channel, at);
    const connection = this.shard(owner);
    // Not ready yet: its 'ready' handler subscribes every wanted channel it owns.
    if (connection.status === "ready") this.subscribeOn(owner, connection, [channel]);
  }

  private subscribeOn(key: string, connection: Redis, channels: string[]): void {
    for (const channel of channels) {
      this.placed.set(channel, key);
      // One SSUBSCRIBE per channel: the channels of one command must share a slot.
      connection.ssubscribe(channel).catch((err: Error) => {
        if (this.placed.get(channel) === key) this.placed.delete(channel);
        this.hooks.onError(err);
        // MOVED: the slot map is stale; the refresh's reconcile places the channel again.
        if (/^(MOVED|ASK) /.test(err.message)) this.refreshTopology();
      });
    }
  }

  private unplace(channel: string, key: string): void {
    this.placed.delete(channel);
    const connection = this.shards.get(key);
    if (connection?.status === "ready") connection.sunsubscribe(channel).catch((err: Error) => this.hooks.onError(err));
  }

  private shard(key: string): Redis {
    const existing = this.shards.get(key);
    if (existing) return existing;
    const colon = key.lastIndexOf(":");
    const connection = this.options.connect(key.slice(0, colon), Number(key.slice(colon + 1)));
    this.shards.set(key, connection);
    connection.on("smessageBuffer", (ch: Buffer, payload: Buffer) => this.hooks.onMessage(ch, payload));
    connection.on("error", (err: Error) => this.hooks.onError(err));
    // Redis tells a subscriber when its slot moved away (an unsolicited SUNSUBSCRIBE, "moved" in ioredis).
    connection.on("moved", () => this.refreshTopology());
    connection.on("ready", () => {
      if (this.shards.get(key) !== connection) return;
      const mine: string[] = [];
      for (const channel of this.wanted.keys()) if (this.ownerOf(channel) === key) mine.push(channel);
      this.subscribeOn(key, connection, mine);
      this.hooks.onChange();
    });
    connection.on("close", () => {
      if (this.shards.get(key) !== connection) return;
      // The server forgot this connection's subscriptions with it.
      for (const [channel, at] of this.placed) if (at === key) this.placed.delete(channel);
      this.hooks.onChange();
    });
    return connection;
  }

  /** After a slot-map refresh: move channels whose owner changed, drop connections nobody needs. */
  private reconcile(): void {
    if (this.closed) return;
    const needed = new Set<string>();
    for (const channel of this.wanted.keys()) {
      this.place(channel);
      const owner = this.ownerOf(channel);
      if (owner !== undefined) needed.add(owner);
    }
    for (const [key, connection] of this.shards) {
      if (needed.has(key)) continue;
      this.shards.delete(key);
      void closeConnection(connection);
    }
    this.hooks.onChange();
  }

  private refreshTopology(): void {
    if (!this.closed) this.options.topology.refreshSlotsCache();
  }
}
