import type { Redis } from "@herald/redis";
import type { ChannelSubscriber, SubscriberHooks } from "./channel-subscriber.js";

/** SUBSCRIBE takes many channels per command; this many keeps each command a modest size. */
const CHANNELS_PER_SUBSCRIBE = 1000;

/**
 * Classic pub/sub over one connection (a standalone server, or the master Sentinel names). The
 * connection must not resubscribe by itself (autoResubscribe off): after every reconnect this
 * class subscribes to exactly the channels wanted now, so channels removed while Redis was away
 * do not come back.
 */
export class ConnectionSubscriber implements ChannelSubscriber {
  private readonly wanted = new Set<string>();

  constructor(
    private readonly connection: Redis,
    private readonly hooks: SubscriberHooks,
  ) {
    connection.on("messageBuffer", (ch: Buffer, payload: Buffer) => hooks.onMessage(ch, payload));
    connection.on("ready", () => {
      if (this.wanted.size > 0) this.subscribe([...this.wanted]);
      hooks.onChange();
    });
    for (const ev of ["close", "reconnecting", "end"]) connection.on(ev, () => hooks.onChange());
  }

  get ready(): boolean {
    return this.connection.status === "ready";
  }

  add(channel: string): void {
    this.wanted.add(channel);
    if (this.ready) this.subscribe([channel]);
  }

  remove(channel: string): void {
    if (!this.wanted.delete(channel)) return;
    if (this.ready) this.connection.unsubscribe(channel).catch((err: Error) => this.hooks.onError(err));
  }

  async close(): Promise<void> {
    await closeConnection(this.connection);
  }

  private subscribe(channels: string[]): void {
    // A failure means the connection dropped; the next 'ready' subscribes again from `wanted`.
    for (let i = 0; i < channels.length; i += CHANNELS_PER_SUBSCRIBE) {
      this.connection.subscribe(...channels.slice(i, i + CHANNELS_PER_SUBSCRIBE)).catch((err: Error) => this.hooks.onError(err));
    }
  }
}

/** QUIT when connected (answered after what was sent before it), else drop the socket. */
export async function closeConnection(c: { status: string; quit(): Promise<unknown>; disconnect(): void }): Promise<void> {
  if (c.status === "ready") {
    try {
      await c.quit();
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  c.disconnect();
}
