import type { StreamPosition } from "@herald/bus";

/**
 * The STOMP headers of Herald's delivery guarantees.
 *
 * On MESSAGE (written by message-frame.ts / the session):
 *   herald-offset, herald-epoch   position of the message in its destination's history
 *   herald-recovered              on the first frame after a SUBSCRIBE that recovered
 *                                 (and on its RECEIPT): complete | too-old | epoch-changed | limit | unavailable
 *   herald-redelivery-count       on a message sent again after a NACK (1, 2, …)
 *
 * On SUBSCRIBE (read here):
 *   herald-since-offset + herald-since-epoch   the last position the client saw: recover after it
 *   durable-name                                names a durable subscription (or ActiveMQ's activemq.subscriptionName
 *                                               with a client-id CONNECT header)
 */
export const HEADER = {
  offset: "herald-offset",
  epoch: "herald-epoch",
  recovered: "herald-recovered",
  redeliveryCount: "herald-redelivery-count",
  sinceOffset: "herald-since-offset",
  sinceEpoch: "herald-since-epoch",
  durableName: "durable-name",
  activemqSubscriptionName: "activemq.subscriptionName",
  clientId: "client-id",
  originalDestination: "herald-original-destination",
  deadLetterReason: "herald-dead-letter-reason",
} as const;

/** What a recovery achieved; anything but "complete" means the app should reload what it shows. */
export type RecoveryOutcome = "complete" | "too-old" | "epoch-changed" | "limit" | "unavailable";

/** A SUBSCRIBE header that cannot be used; the session turns it into an ERROR frame. */
export class DeliveryHeaderError extends Error {
  override readonly name = "DeliveryHeaderError";
}

/** The position a SUBSCRIBE asks to recover after, or undefined when it asks for none. */
export function parseSincePosition(get: (name: string) => string | undefined): StreamPosition | undefined {
  const offset = get(HEADER.sinceOffset);
  const epoch = get(HEADER.sinceEpoch);
  if (offset === undefined && epoch === undefined) return undefined;
  if (offset === undefined || epoch === undefined) {
    throw new DeliveryHeaderError(`${HEADER.sinceOffset} and ${HEADER.sinceEpoch} go together: got only ${offset === undefined ? HEADER.sinceEpoch : HEADER.sinceOffset}`);
  }
  if (!/^\d{1,15}$/.test(offset)) throw new DeliveryHeaderError(`${HEADER.sinceOffset} must be a whole number >= 0, got "${offset.slice(0, 40)}"`);
  if (epoch === "" || epoch.length > 64) throw new DeliveryHeaderError(`${HEADER.sinceEpoch} must be the herald-epoch of a received message, got "${epoch.slice(0, 40)}"`);
  return { offset: Number(offset), epoch };
}

/** The durable name a SUBSCRIBE gives itself, if any. */
export function parseDurableName(get: (name: string) => string | undefined, clientId: string | undefined): string | undefined {
  const name = get(HEADER.durableName);
  const activemq = get(HEADER.activemqSubscriptionName);
  const chosen = name ?? activemq;
  if (chosen === undefined) return undefined;
  if (chosen === "" || chosen.length > 200) throw new DeliveryHeaderError(`${name !== undefined ? HEADER.durableName : HEADER.activemqSubscriptionName} must be 1 to 200 characters`);
  if (name === undefined && clientId === undefined) {
    throw new DeliveryHeaderError(`${HEADER.activemqSubscriptionName} needs a ${HEADER.clientId} header on CONNECT (or use ${HEADER.durableName})`);
  }
  return chosen;
}
