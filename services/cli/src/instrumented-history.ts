import type { BusMessage, StreamPosition } from "@herald/bus";
import { HistoryUnavailableError, type BatchItem, type History, type HistoryOptions, type ReadResult } from "@herald/history";
import type { Registry } from "@herald/observability";
import { PublishCounters } from "./publish-counters.js";

/**
 * Redis history publishes from its script (and batches in a MULTI), not through the bus, so
 * InstrumentedBus never sees those messages: this counts them in the same series, one per
 * message published to Redis. Only for RedisHistory: MemoryHistory publishes through the bus,
 * which counts already.
 */
export class InstrumentedHistory implements History {
  private readonly publishes: PublishCounters;

  constructor(
    private readonly inner: History,
    registry: Registry,
  ) {
    this.publishes = new PublishCounters(registry);
  }

  publish(message: BusMessage, options: HistoryOptions): Promise<BusMessage> {
    return this.counted(this.inner.publish(message, options), 1);
  }

  publishAll(items: readonly BatchItem[]): Promise<BusMessage[]> {
    return this.counted(this.inner.publishAll(items), items.length);
  }

  readSince(destination: string, since: StreamPosition, limit: number): Promise<ReadResult> {
    return this.inner.readSince(destination, since, limit);
  }

  latest(destination: string): Promise<StreamPosition> {
    return this.inner.latest(destination);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private counted<T>(work: Promise<T>, n: number): Promise<T> {
    return this.publishes.track(work, n, (err) => err instanceof HistoryUnavailableError);
  }
}
