/**
 * The subscribing half of RedisBus: keeps Redis subscribed to exactly the channels it has been
 * given, across reconnects and (on a cluster) topology changes. One implementation per Redis
 * deployment shape: ConnectionSubscriber (one server, or Sentinel's master) and ShardSubscriber
 * (Redis Cluster, sharded pub/sub).
 */
export interface ChannelSubscriber {
  /** Start receiving `channel`. Called once per channel (the bus reference-counts above this). */
  add(channel: string): void;
  /** Stop receiving `channel`. */
  remove(channel: string): void;
  /** True while every added channel is subscribed on a live connection (nothing is being restored). */
  readonly ready: boolean;
  close(): Promise<void>;
}

/** How a ChannelSubscriber reports to its owner. */
export interface SubscriberHooks {
  /** A message on a subscribed channel. */
  onMessage(channel: Buffer, payload: Buffer): void;
  /** `ready` may have changed. */
  onChange(): void;
  /** A connection error or a failed (un)subscribe; the subscriber recovers by itself. */
  onError(err: Error): void;
}
