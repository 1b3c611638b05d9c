import type { Bus, BusMessage } from "@herald/bus";
import type { StompVersion } from "@herald/stomp";
import { MessageParts, messagePrefix } from "./message-frame.js";
import type { NativeTopics } from "../session/transport.js";
import type { SubscriptionStream } from "../delivery/subscription-stream.js";

export type AckMode = "auto" | "client" | "client-individual";

/** The session side of a subscription: what the registry needs to reach it. */
export interface SubscriberSession {
  readonly version: StompVersion;
  /** Native shared fan-out, when the transport has it. */
  readonly topics?: NativeTopics;
  /** Delivery for subscriptions that cannot share a pre-built frame (ack modes, SockJS). */
  deliver(sub: Subscription, parts: MessageParts, prefix: Buffer): void;
}

export interface Subscription {
  readonly id: string;
  /** As the client wrote it, e.g. /topic/x or /user/queue/x. */
  readonly destination: string;
  /** Where its messages travel on the bus, e.g. /user/alice/queue/x. */
  readonly busDestination: string;
  readonly ack: AckMode;
  readonly session: SubscriberSession;
  /** Set when the subscription recovers or is durable: it is then delivered per session, never natively. */
  readonly stream?: SubscriptionStream;
}

/**
 * Subscribers that can receive identical bytes: same destination, subscription id
 * and STOMP version. Clients reuse ids (sub-0, sub-1…), so one frame usually serves
 * thousands of sockets through one native publish.
 */
interface Group {
  /** Version and subscription id: the group's key within its destination. */
  readonly key: string;
  readonly topic: string;
  /** The subscription id the group's frames carry. */
  readonly id: string;
  /** Built at the first message (idle connections never need it). */
  prefix: Buffer | undefined;
  readonly version: StompVersion;
  native: number;
  /** Subscriptions delivered one by one; allocated when the first one joins. */
  direct: Set<Subscription> | undefined;
}

function prefixOf(group: Group): Buffer {
  return (group.prefix ??= messagePrefix(group.id, group.version));
}

/**
 * A destination's groups. Nearly every destination has one group (every subscriber
 * uses the same id, or it has one subscriber), so the first needs no Map: with a
 * destination per connection, a Map per destination would be a Map per connection.
 */
interface DestinationEntry {
  readonly clientDestination: string;
  first: Group | undefined;
  /** Further groups, by key; allocated when a second group appears. */
  more: Map<string, Group> | undefined;
  size: number;
  /**
   * The same bus destination under another client spelling (a user's `/user/queue/dlq/queue/x`
   * and an operator's `/queue/dlq/user/alice/queue/x`): each MESSAGE names the destination its
   * subscriber used. Almost always undefined.
   */
  next: DestinationEntry | undefined;
}

function findGroup(entry: DestinationEntry, key: string): Group | undefined {
  return entry.first?.key === key ? entry.first : entry.more?.get(key);
}

function addGroup(entry: DestinationEntry, group: Group): void {
  if (entry.first === undefined) entry.first = group;
  else (entry.more ??= new Map()).set(group.key, group);
}

// No group moves from `more` to `first`: a fan-out in progress must not skip one.
function deleteGroup(entry: DestinationEntry, group: Group): void {
  if (entry.first === group) entry.first = undefined;
  else if (entry.more?.delete(group.key) && entry.more.size === 0) entry.more = undefined;
}

export type NativePublish = (topic: string, frame: Uint8Array, binary: boolean) => void;

export interface FanoutObserver {
  /** Called once per message that reached at least one local subscriber. */
  delivered(message: BusMessage, subscribers: number): void;
  /** Bytes handed to uWebSockets.js's native publish (one frame times the sockets that share it). */
  publishedNatively(bytes: number): void;
}

export class SubscriptionRegistry {
  private readonly destinations = new Map<string, DestinationEntry>();
  private subscriptionTotal = 0;

  constructor(
    private readonly bus: Bus,
    private readonly publishNative: NativePublish | undefined,
    private readonly observer?: FanoutObserver,
  ) {
    bus.on("message", (m) => this.fanOut(m));
  }

  add(sub: Subscription): void {
    const head = this.destinations.get(sub.busDestination);
    let entry = head;
    while (entry !== undefined && entry.clientDestination !== sub.destination) entry = entry.next;
    if (!entry) {
      entry = { clientDestination: sub.destination, first: undefined, more: undefined, size: 0, next: undefined };
      if (head === undefined) {
        this.destinations.set(sub.busDestination, entry);
        this.bus.subscribe(sub.busDestination);
      } else {
        entry.next = head.next;
        head.next = entry;
      }
    }
    const version = sub.session.version;
    const key = `${version}\u0000${sub.id}`;
    let group = findGroup(entry, key);
    if (!group) {
      group = { key, topic: `${sub.busDestination}\u0000${key}`, id: sub.id, prefix: undefined, version, native: 0, direct: undefined };
      addGroup(entry, group);
    }
    if (this.isNative(sub)) {
      sub.session.topics!.subscribe(group.topic);
      group.native++;
    } else {
      (group.direct ??= new Set()).add(sub);
    }
    entry.size++;
    this.subscriptionTotal++;
  }

  remove(sub: Subscription): void {
    const head = this.destinations.get(sub.busDestination);
    let entry = head;
    let before: DestinationEntry | undefined;
    while (entry !== undefined && entry.clientDestination !== sub.destination) {
      before = entry;
      entry = entry.next;
    }
    if (!entry) return;
    const key = `${sub.session.version}\u0000${sub.id}`;
    const group = findGroup(entry, key);
    if (!group) return;
    if (this.isNative(sub)) {
      sub.session.topics!.unsubscribe(group.topic);
      group.native--;
    } else if (!group.direct?.delete(sub)) {
      return;
    }
    entry.size--;
    this.subscriptionTotal--;
    if (group.direct?.size === 0) group.direct = undefined;
    if (group.native === 0 && group.direct === undefined) deleteGroup(entry, group);
    if (entry.size > 0) return;
    if (before !== undefined) before.next = entry.next;
    else if (entry.next !== undefined) this.destinations.set(sub.busDestination, entry.next);
    else {
      this.destinations.delete(sub.busDestination);
      this.bus.unsubscribe(sub.busDestination);
    }
  }

  /** Local subscriptions on this node. */
  get subscriptions(): number {
    return this.subscriptionTotal;
  }

  /** Distinct destinations subscribed on this node. */
  get destinationCount(): number {
    return this.destinations.size;
  }

  localSubscribers(busDestination: string): number {
    let n = 0;
    for (let e = this.destinations.get(busDestination); e !== undefined; e = e.next) n += e.size;
    return n;
  }

  private isNative(sub: Subscription): boolean {
    return sub.ack === "auto" && sub.stream === undefined && sub.session.topics !== undefined && this.publishNative !== undefined;
  }

  /** The hot path: one frame per group, native publish for the sockets that share it. */
  private fanOut(message: BusMessage): void {
    let entry = this.destinations.get(message.destination);
    if (!entry) return;
    let subscribers = 0;
    do {
      const parts = new MessageParts(message, entry.clientDestination);
      const more = entry.more;
      if (entry.first) this.fanOutGroup(entry.first, parts);
      if (more) for (const group of more.values()) this.fanOutGroup(group, parts);
      subscribers += entry.size;
      entry = entry.next;
    } while (entry !== undefined);
    this.observer?.delivered(message, subscribers);
  }

  private fanOutGroup(group: Group, parts: MessageParts): void {
    const prefix = prefixOf(group);
    if (group.native > 0) {
      const frame = parts.frame(prefix, group.version);
      this.publishNative!(group.topic, frame, parts.binary);
      this.observer?.publishedNatively(frame.length * group.native);
    }
    if (group.direct) for (const sub of group.direct) sub.session.deliver(sub, parts, prefix);
  }
}
