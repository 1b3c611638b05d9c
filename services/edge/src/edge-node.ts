import { randomBytes } from "node:crypto";
import type { Bus } from "@herald/bus";
import { userBusDestination } from "@herald/bus";
import type { Logger, Registry } from "@herald/observability";
import { SubscriptionRegistry, type NativePublish } from "./fanout/subscription-registry.js";
import { defaultAppHandlers, type AppContext, type AppHandlers, type OutgoingMessage } from "./routing/app-handlers.js";
import { checkDestinationSyntax, classify } from "./routing/destinations.js";
import { edgeMetrics, type DisconnectReason, type EdgeMetrics } from "./metrics.js";
import { initEdgeMetrics } from "./metrics-init.js";
import type { EdgeConfig } from "./edge-config.js";
import { StompSession } from "./session/session.js";
import type { Admission, PublishRequest, SessionConfig, SessionServices } from "./session/services.js";
import { OPEN_POLICY, OpenAuthenticator } from "./session/open-access.js";
import type { Authenticator, DestinationPolicy, Principal } from "./session/principal.js";
import { CloseCode } from "./session/transport.js";
import { Delivery } from "./delivery/delivery.js";
import type { DeliveryConfig } from "./delivery/delivery-config.js";
import type { CursorStore } from "./delivery/cursor-store.js";
import type { History, HistoryPolicy } from "@herald/history";

export interface EdgeNodeOptions {
  config: EdgeConfig;
  bus: Bus;
  logger: Logger;
  registry: Registry;
  publishNative?: NativePublish;
  handlers?: AppHandlers;
  authenticator?: Authenticator;
  policy?: DestinationPolicy;
  /** Per-connection SEND limiter; returns a message when over the limit. */
  sendLimiter?: (session: StompSession) => string | undefined;
  /** Per-connection SUBSCRIBE limiter, the same way. */
  subscribeLimiter?: (session: StompSession) => string | undefined;
  /** Connection limits: per client address from transport open to close, per user from CONNECT to close. */
  admission?: {
    open(address: string): Admission | undefined;
    closed(address: string): void;
    admit(session: StompSession, principal: Principal | undefined): Admission | undefined;
    release(session: StompSession): void;
  };
  /** Delivery guarantees (history, recovery, durable acks); without it the node is at-most-once. */
  delivery?: { history: History; policy: HistoryPolicy; cursors: CursorStore; config: DeliveryConfig };
}

/**
 * One edge node: its sessions, its subscriptions and the services they share.
 * Transports create sessions; the node keeps them honest (heart-beats, timeouts,
 * slow consumers) with one sweep rather than a timer per connection.
 */
export class EdgeNode implements SessionServices {
  readonly config: SessionConfig;
  readonly registry: SubscriptionRegistry;
  readonly handlers: AppHandlers;
  readonly appContext: AppContext;
  readonly authenticator: Authenticator;
  readonly policy: DestinationPolicy;
  readonly metrics: EdgeMetrics;
  readonly logger: Logger;
  readonly ids: { session(): string; message(): string };
  readonly sessions = new Set<StompSession>();
  readonly delivery: Delivery | undefined;
  private readonly bus: Bus;
  private readonly sweepTimer: NodeJS.Timeout;
  /** Sessions over the outbound limit under the drop policy (uWS drops their messages). */
  private readonly dropping = new Set<StompSession>();
  private draining = false;

  constructor(private readonly options: EdgeNodeOptions) {
    const { config, bus, logger, registry } = options;
    this.bus = bus;
    this.logger = logger;
    this.metrics = edgeMetrics(registry);
    initEdgeMetrics(this.metrics);
    this.config = {
      serverName: "Herald/0.1.0",
      heartbeat: config.heartbeat,
      maxFrameBytes: config.maxFrameBytes,
      connectTimeoutMs: config.connectTimeoutMs,
      maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
      maxOutboundBytes: config.maxOutboundBytes,
      maxUnacked: config.maxUnacked,
      maxUnackedBytes: config.maxUnackedBytes,
      maxTransactionFrames: config.maxTransactionFrames,
      maxTransactionBytes: config.maxTransactionBytes,
    };
    this.handlers = options.handlers ?? defaultAppHandlers();
    this.authenticator = options.authenticator ?? new OpenAuthenticator(config.insecureLoginAsUser);
    this.policy = options.policy ?? OPEN_POLICY;
    const prefix = `${config.nodeId.replace(/[^A-Za-z0-9_.-]/g, "_")}-${randomBytes(3).toString("hex")}`;
    let sessionSeq = 0;
    let messageSeq = 0;
    this.ids = { session: () => `${prefix}-s${(++sessionSeq).toString(36)}`, message: () => `${prefix}-m${(++messageSeq).toString(36)}` };
    this.delivery = options.delivery
      ? new Delivery({ ...options.delivery, bus, logger, registry, highWaterBytes: Math.max(16 * 1024, Math.floor(config.maxOutboundBytes / 4)) })
      : undefined;
    // With delivery guarantees the fan-out reads the bus through the gap filler.
    this.registry = new SubscriptionRegistry(this.delivery?.bus ?? bus, options.publishNative, {
      publishedNatively: (bytes) => this.metrics.bytesOut.inc(bytes),
      delivered: (message, subscribers) => {
        this.metrics.messagesDelivered.inc(subscribers);
        this.metrics.framesOut.inc({ command: "MESSAGE" }, subscribers);
        this.metrics.deliveryLatency.observe(Math.max(0, Date.now() - message.publishedAt) / 1000);
      },
    });
    this.appContext = {
      sendTo: (destination, message) => this.publishChecked(destination, message),
      sendToUser: (user, destination, message) => this.publish(userBusDestination(user, destination), message),
    };
    const { outgoingMs, incomingMs } = config.heartbeat;
    const shortest = Math.min(...[outgoingMs, incomingMs, config.connectTimeoutMs].filter((n) => n > 0));
    const interval = Math.max(25, Math.min(1000, Math.floor(shortest / 4)));
    this.sweepTimer = setInterval(() => this.sweep(), interval);
    this.sweepTimer.unref();
  }

  /** Publishes through history where the destination keeps it; resolves once published (and stored). */
  publish(destination: string, message: OutgoingMessage): Promise<void> {
    const m = StompSession.busMessage(this.ids.message(), destination, message);
    if (this.delivery) return this.delivery.publish(m).then(() => undefined);
    return this.bus.publish(m);
  }

  publishAll(requests: readonly PublishRequest[]): Promise<void> {
    const messages = requests.map((r) => StompSession.busMessage(this.ids.message(), r.destination, r.message));
    if (this.delivery) return this.delivery.publishAll(messages).then(() => undefined);
    return this.bus.publishAll(messages);
  }

  /** Handlers may only reach broker destinations: the same syntax rules as clients. */
  private publishChecked(destination: string, message: OutgoingMessage): Promise<void> {
    const bad = checkDestinationSyntax(destination);
    const kind = classify(destination);
    if (bad || (kind !== "topic" && kind !== "queue")) {
      return Promise.reject(new Error(bad ?? `handlers send to /topic/** or /queue/**, not ${destination}`));
    }
    return this.publish(destination, message);
  }

  /**
   * A transport opened (WebSocket upgrade, SockJS session open) from `address`, the
   * client address. Undefined: admitted, and the transport calls transportClosed once
   * when it closes. Otherwise the refusal, counted here; the transport opens a session
   * anyway and hands it to `refuse`, so the client can read why.
   */
  transportOpened(address: string): Admission | undefined {
    const refused = this.options.admission?.open(address);
    if (refused) this.metrics.limitRejections.inc({ limit: refused.limit });
    return refused;
  }

  transportClosed(address: string): void {
    this.options.admission?.closed(address);
  }

  /** Closes a new session refused at open with an ERROR frame (a STOMP client shows ERRORs, not HTTP statuses). */
  refuse(session: StompSession, refusal: Admission): void {
    session.closeWithError("too many connections from your address", refusal.message, "limit", CloseCode.policyViolation);
  }

  admit(session: StompSession, principal: Principal | undefined): Admission | undefined {
    return this.options.admission?.admit(session, principal);
  }

  takeSendToken(session: StompSession): string | undefined {
    return this.options.sendLimiter?.(session);
  }

  takeSubscribeToken(session: StompSession): string | undefined {
    return this.options.subscribeLimiter?.(session);
  }

  sessionConnected(session: StompSession): void {
    this.metrics.connections.inc({ transport: session.transport.kind, version: session.version });
  }

  sessionClosed(session: StompSession, reason: DisconnectReason, wasConnected: boolean): void {
    this.sessions.delete(session);
    this.dropping.delete(session);
    if (wasConnected) {
      this.metrics.connections.dec({ transport: session.transport.kind, version: session.version });
      this.options.admission?.release(session);
    }
    this.metrics.disconnects.inc({ reason });
  }

  subscriptionsChanged(): void {
    this.metrics.subscriptions.set(this.registry.subscriptions);
    this.metrics.destinations.set(this.registry.destinationCount);
  }

  onAuthFailure(message: string): void {
    this.logger.info({ reason: message }, "authentication refused");
  }

  onAclDenial(action: "subscribe" | "send", destination: string, principal: Principal | undefined): void {
    this.logger.info({ action, destination, user: principal?.user }, "destination refused");
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** One pass over all sessions: heart-beats, CONNECT timeouts, slow consumers. */
  private sweep(): void {
    const now = Date.now();
    const limit = this.options.config.maxOutboundBytes;
    const close = this.options.config.slowConsumerPolicy === "close";
    for (const s of this.sessions) {
      s.tick(now);
      if (!s.connected) continue;
      const buffered = s.transport.bufferedAmount();
      if (close) {
        if (buffered > limit) {
          this.metrics.slowConsumers.inc({ policy: "close" });
          this.logger.warn({ session: s.id, buffered, limit }, "closing slow consumer");
          s.closeWithError("slow consumer", `more than ${limit} bytes waiting to be sent; the client is not reading fast enough`, "slow-consumer", CloseCode.policyViolation);
        }
      } else if (buffered > limit) {
        // Over the limit, uWS drops what is sent to it: counted and logged once per episode.
        if (!this.dropping.has(s)) {
          this.dropping.add(s);
          this.metrics.slowConsumers.inc({ policy: "drop" });
          this.logger.warn({ session: s.id, buffered, limit }, "slow consumer: dropping messages for it until it catches up");
        }
      } else if (buffered < limit / 2 && this.dropping.delete(s)) {
        this.logger.info({ session: s.id, buffered, limit }, "slow consumer caught up: delivering again");
      }
    }
  }

  /**
   * Closes every session, spread evenly over `windowMs`, with an ERROR that tells
   * clients to reconnect elsewhere (no reconnect storm on rolling updates).
   */
  async drain(windowMs: number): Promise<void> {
    this.draining = true;
    const sessions = [...this.sessions];
    const step = sessions.length > 0 ? windowMs / sessions.length : 0;
    const started = Date.now();
    for (let i = 0; i < sessions.length; i++) {
      const due = started + i * step;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sessions[i]!.closeWithError("server shutting down", "this node is draining; reconnect to another node", "drain", CloseCode.tryAgainLater);
    }
  }

  close(): void {
    clearInterval(this.sweepTimer);
    for (const s of [...this.sessions]) s.onClose("drain");
  }
}
