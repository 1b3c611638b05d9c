import type { Logger } from "@herald/observability";
import type { SubscriptionRegistry } from "../fanout/subscription-registry.js";
import type { AppContext, AppHandlers, OutgoingMessage } from "../routing/app-handlers.js";
import type { EdgeMetrics, DisconnectReason } from "../metrics.js";
import type { HeartbeatSettings } from "./heartbeat.js";
import type { Authenticator, DestinationPolicy, Principal } from "./principal.js";
import type { StompSession } from "./session.js";
import type { Delivery } from "../delivery/delivery.js";

export interface SessionConfig {
  readonly serverName: string;
  readonly heartbeat: HeartbeatSettings;
  readonly maxFrameBytes: number;
  readonly connectTimeoutMs: number;
  readonly maxSubscriptionsPerConnection: number;
  /** Bytes queued on a connection past which it is a slow consumer (HERALD_MAX_OUTBOUND_BYTES). */
  readonly maxOutboundBytes: number;
  /** Unacknowledged messages held per connection (they are kept for NACK redelivery). */
  readonly maxUnacked: number;
  /** Their body bytes in all, per connection (HERALD_MAX_UNACKED_BYTES). */
  readonly maxUnackedBytes: number;
  /** What a connection's open transactions may hold in all until COMMIT: frames, and SEND body bytes. */
  readonly maxTransactionFrames: number;
  readonly maxTransactionBytes: number;
}

/** One SEND of a transaction: its bus destination and what to publish there. */
export interface PublishRequest {
  readonly destination: string;
  readonly message: OutgoingMessage;
}

export interface Admission {
  readonly limit: string;
  readonly message: string;
}

/** What every session of a node shares: the node is the one implementation. */
export interface SessionServices {
  readonly config: SessionConfig;
  readonly registry: SubscriptionRegistry;
  readonly handlers: AppHandlers;
  readonly appContext: AppContext;
  readonly authenticator: Authenticator;
  readonly policy: DestinationPolicy;
  readonly metrics: EdgeMetrics;
  readonly logger: Logger;
  readonly ids: { session(): string; message(): string };
  readonly sessions: { add(session: StompSession): void };
  /** Present when the node keeps history: recovery, durable subscriptions, NACK redelivery. */
  readonly delivery: Delivery | undefined;
  publish(destination: string, message: OutgoingMessage): Promise<void>;
  /**
   * A transaction's SENDs, all or none (one atomic Redis step). Rejects with BatchRefusedError
   * when nothing was sent (CrossSlotError: destinations in several cluster slots).
   */
  publishAll(requests: readonly PublishRequest[]): Promise<void>;
  /** Per-user / per-node connection limits at CONNECT; undefined admits. */
  admit(session: StompSession, principal: Principal | undefined): Admission | undefined;
  /** SEND rate limit; a message when the session is over its rate. */
  takeSendToken(session: StompSession): string | undefined;
  /** SUBSCRIBE rate limit; a message when the session is over its rate. */
  takeSubscribeToken(session: StompSession): string | undefined;
  sessionConnected(session: StompSession): void;
  sessionClosed(session: StompSession, reason: DisconnectReason, wasConnected: boolean): void;
  subscriptionsChanged(): void;
  onAuthFailure(message: string): void;
  onAclDenial(action: "subscribe" | "send", destination: string, principal: Principal | undefined): void;
}
