import type { Bus, BusMessage } from "@herald/bus";
import type { History } from "./history.js";
import type { HistoryPolicy } from "./policy.js";

/**
 * The one publish call for the worker and the edge: a destination that keeps history goes
 * through history (append + publish, positioned), any other straight onto the bus.
 */
export class PublishRouter {
  constructor(
    private readonly bus: Bus,
    private readonly history: History,
    private readonly policy: HistoryPolicy,
  ) {}

  /** True when messages to this bus destination get positions. */
  keepsHistory(destination: string): boolean {
    return this.policy.optionsFor(destination) !== undefined;
  }

  /** Resolves with the message as delivered (with its position when the destination keeps history). */
  async publish(message: BusMessage): Promise<BusMessage> {
    const options = this.policy.optionsFor(message.destination);
    if (options === undefined) {
      await this.bus.publish(message);
      return message;
    }
    return this.history.publish(message, options);
  }

  /**
   * All or nothing (a STOMP transaction): only the bus when no destination keeps history, else
   * history, which publishes the others in the same atomic step.
   */
  async publishAll(messages: readonly BusMessage[]): Promise<BusMessage[]> {
    const items = messages.map((message) => ({ message, options: this.policy.optionsFor(message.destination) }));
    if (items.every((i) => i.options === undefined)) {
      await this.bus.publishAll(messages);
      return [...messages];
    }
    return this.history.publishAll(items);
  }
}
