import { counter, type Registry } from "@herald/observability";

/**
 * herald_bus_published_total and herald_bus_publish_errors_total: one pair of series for every
 * path that publishes to Redis (the bus, and history's script, which publishes past the bus).
 */
export class PublishCounters {
  private readonly published;
  private readonly errors;

  constructor(registry: Registry) {
    // counter() returns the series already registered, so each path can make its own PublishCounters.
    this.published = counter(registry, "bus_published_total", "Messages published on the bus by this process");
    this.errors = counter(registry, "bus_publish_errors_total", "Bus publishes that failed (Redis unavailable)");
  }

  /** Counts `n` messages when `work` resolves; an error when it rejects and `isOutage(err)` (by default always). */
  track<T>(work: Promise<T>, n: number, isOutage?: (err: unknown) => boolean): Promise<T> {
    return work.then(
      (value) => {
        this.published.inc(n);
        return value;
      },
      (err: unknown) => {
        if (isOutage === undefined || isOutage(err)) this.errors.inc();
        throw err;
      },
    );
  }
}
