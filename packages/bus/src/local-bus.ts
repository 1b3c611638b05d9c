import type { Bus, BusEvents, BusMessage, BusState } from "./bus.js";
import { RefCounts } from "./ref-counts.js";
import { Listeners } from "./typed-emitter.js";

const DONE: Promise<void> = Promise.resolve();

/**
 * In-process bus for the embedded default: one node, so publishing is delivering.
 * Delivery happens on a microtask so publish() behaves like a remote bus (the
 * publisher never re-enters its own subscribers synchronously). Messages published
 * in one turn share one microtask (queueMicrotask costs an AsyncResource per call,
 * the hot path publishes once per message).
 */
export class LocalBus implements Bus {
  private readonly interest = new RefCounts();
  private readonly listeners = new Listeners<BusEvents>();
  readonly state: BusState = "up";
  private queue: BusMessage[] = [];
  private readonly flush = (): void => {
    const queue = this.queue;
    this.queue = [];
    for (let i = 0; i < queue.length; i++) {
      try {
        this.listeners.emit("message", queue[i]!);
      } catch (err) {
        // As before (a throw inside queueMicrotask): an uncaught exception, after the rest are delivered.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  };

  publish(message: BusMessage): Promise<void> {
    if (this.interest.has(message.destination) && this.queue.push(message) === 1) void DONE.then(this.flush);
    return DONE;
  }

  /** In one synchronous step, so trivially all or nothing. */
  publishAll(messages: readonly BusMessage[]): Promise<void> {
    for (const m of messages) void this.publish(m);
    return DONE;
  }

  subscribe(destination: string): void {
    this.interest.acquire(destination);
  }

  unsubscribe(destination: string): void {
    this.interest.release(destination);
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

  async close(): Promise<void> {}
}
