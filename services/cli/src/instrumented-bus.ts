import type { Bus, BusEvents, BusMessage, BusState } from "@herald/bus";
import { counter, gauge, type Logger, type Registry } from "@herald/observability";
import { PublishCounters } from "./publish-counters.js";

/**
 * The bus as the rest of the process sees it: the same interface, plus metrics and
 * a log line for every up/down transition of the transport underneath.
 */
export class InstrumentedBus implements Bus {
  private readonly publishes: PublishCounters;
  private readonly received;
  private readonly transitions;
  private readonly up;

  constructor(
    private readonly inner: Bus,
    registry: Registry,
    private readonly logger: Logger,
    readonly kind: "local" | "redis",
  ) {
    this.publishes = new PublishCounters(registry);
    this.received = counter(registry, "bus_received_total", "Messages received from the bus by this process");
    this.transitions = counter(registry, "redis_transitions_total", "Bus transport state changes", ["state"]);
    this.up = gauge(registry, "redis_up", "1 when the bus transport (Redis) is connected, 0 when not");
    for (const s of ["up", "down"] as const) this.transitions.inc({ state: s }, 0);
    this.up.set(inner.state === "up" ? 1 : 0);
    inner.on("message", () => this.received.inc());
    inner.on("state", (state) => {
      this.transitions.inc({ state });
      this.up.set(state === "up" ? 1 : 0);
      if (state === "down") this.logger.error({ bus: kind }, "bus transport down: publishes fail fast until it returns; local fan-out continues");
      else this.logger.info({ bus: kind }, "bus transport up: subscriptions restored");
    });
  }

  get state(): BusState {
    return this.inner.state;
  }

  publish(message: BusMessage): Promise<void> {
    return this.publishes.track(this.inner.publish(message), 1);
  }

  publishAll(messages: readonly BusMessage[]): Promise<void> {
    return this.publishes.track(this.inner.publishAll(messages), messages.length);
  }

  subscribe(destination: string): void {
    this.inner.subscribe(destination);
  }

  unsubscribe(destination: string): void {
    this.inner.unsubscribe(destination);
  }

  subscriptionCount(): number {
    return this.inner.subscriptionCount();
  }

  on<E extends keyof BusEvents>(event: E, listener: BusEvents[E]): void {
    this.inner.on(event, listener);
  }

  off<E extends keyof BusEvents>(event: E, listener: BusEvents[E]): void {
    this.inner.off(event, listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
