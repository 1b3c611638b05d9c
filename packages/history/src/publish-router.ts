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
}
