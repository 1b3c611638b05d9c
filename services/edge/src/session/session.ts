import {
  StompCodecError,
  StompParser,
  header,
  headerUnsafeForSomeVersion,
  serializeFrame,
  HEARTBEAT_EOL,
  type ClientCommand,
  type ClientFrame,
  type Frame,
  type ServerCommand,
  type StompVersion,
} from "@herald/stomp";
import { BatchRefusedError, BusUnavailableError, type BusMessage } from "@herald/bus";
import { HistoryUnavailableError } from "@herald/history";
import type { Logger } from "@herald/observability";
import type { AckMode, Subscription, SubscriberSession } from "../fanout/subscription-registry.js";
import { MessageParts, messagePrefix } from "../fanout/message-frame.js";
import { DeliveryHeaderError, HEADER, parseDurableName, parseSincePosition } from "../delivery/delivery-headers.js";
import { checkDestinationSyntax, classify, clip, isDeadLetterDestination, ownUserBusDestination } from "../routing/destinations.js";
import type { OutgoingMessage } from "../routing/app-handlers.js";
import { negotiateHeartbeat, parseHeartbeatHeader, SILENCE_TOLERANCE, type NegotiatedHeartbeat } from "./heartbeat.js";
import { AccessDenied, type ConnectContext, type Principal } from "./principal.js";
import { CloseCode, type SessionTransport } from "./transport.js";
import type { DisconnectReason } from "../metrics.js";
import type { PublishRequest, SessionServices } from "./services.js";

type State = "connecting" | "authenticating" | "connected" | "closed";

const ACK_MODES: readonly AckMode[] = ["auto", "client", "client-individual"];
const SEND_RESERVED = new Set(["destination", "receipt", "transaction", "content-length", "content-type", "message-id", "subscription", "ack"]);
const REFRESH_DESTINATION = "/app/herald.refresh-token";

const NO_HEARTBEAT: NegotiatedHeartbeat = Object.freeze({ sendEveryMs: 0, expectEveryMs: 0 });
let lastHeartbeat = NO_HEARTBEAT;
/** Sessions with the same negotiated heart-beats (nearly all of a node's) share one object. */
function sharedHeartbeat(hb: NegotiatedHeartbeat): NegotiatedHeartbeat {
  if (hb.sendEveryMs === lastHeartbeat.sendEveryMs && hb.expectEveryMs === lastHeartbeat.expectEveryMs) return lastHeartbeat;
  if (hb.sendEveryMs === 0 && hb.expectEveryMs === 0) return NO_HEARTBEAT;
  lastHeartbeat = Object.freeze(hb);
  return lastHeartbeat;
}
/**
 * Sessions keep times as int32 ms since this instant, stored unboxed (a double would
 * cost a heap number per field and connection). The clock wraps after 24.8 days, so
 * compare times only through `since`, which is exact for spans under that.
 */
const CLOCK_ZERO = Date.now();
const clock = (): number => (Date.now() - CLOCK_ZERO) | 0;
const since = (then: number, now: number): number => (now - then) | 0;

interface PendingAck {
  readonly sub: Subscription;
  readonly messageId: string;
  /** Kept for NACK redelivery and for the durable cursor (its position). */
  readonly message: BusMessage;
  readonly redeliveries: number;
}

/** What a transaction holds until COMMIT: its SENDs (published together, atomically), then its ACKs/NACKs. */
interface Transaction {
  readonly sends: PublishRequest[];
  readonly acks: Array<{ readonly key: string; readonly nack: boolean }>;
  /** Counted against the connection's budget: BEGIN and each buffered frame; SEND body bytes. */
  frames: number;
  bytes: number;
}

/**
 * Messages a connection holds until ACK or NACK, by ack id, with their body bytes in all: both
 * are bounded (HERALD_MAX_UNACKED, HERALD_MAX_UNACKED_BYTES). Removal goes through settle().
 */
class PendingAcks extends Map<string, PendingAck> {
  bytes = 0;

  hold(key: string, p: PendingAck): void {
    this.set(key, p);
    this.bytes += p.message.body.byteLength;
  }

  settle(key: string, p: PendingAck): void {
    if (this.delete(key)) this.bytes -= p.message.body.byteLength;
  }
}

/** A connection's open transactions, with what they hold in all, so buffering stays bounded. */
class OpenTransactions extends Map<string, Transaction> {
  frames = 0;
  bytes = 0;
}

/** A protocol failure: becomes an ERROR frame, then the connection closes. */
class StompFailure extends Error {
  constructor(
    message: string,
    readonly detail: string,
    readonly kind: DisconnectReason = "protocol-error",
    readonly headers: ReadonlyArray<[string, string]> = [],
    readonly closeCode: number = CloseCode.normal,
  ) {
    super(message);
  }
}

/**
 * One client's STOMP conversation, independent of the transport that carries it:
 * CONNECT → CONNECTED → frames → DISCONNECT or ERROR → closed.
 */
export class StompSession implements SubscriberSession {
  readonly id: string;
  version: StompVersion = "1.2";
  principal: Principal | undefined;
  private state: State = "connecting";
  private readonly parser: StompParser<ClientCommand>;
  private readonly subs = new Map<string, Subscription>();
  // Allocated on first use (most connections never use them): a connection costs memory while it is open.
  private txMap: OpenTransactions | undefined;
  private ackMap: PendingAcks | undefined;
  private queued: ClientFrame[] | undefined;
  /** The tail of the receipt chain while something is pending; undefined when idle. */
  private receipts: Promise<void> | undefined;
  /** Publishes (and receipts waiting on them) still in flight. */
  private pending = 0;
  private heartbeat: NegotiatedHeartbeat = NO_HEARTBEAT;
  // ms on the process clock (small integers: no boxed double per field and connection).
  private lastReceived = clock();
  private lastSent = clock();
  private readonly openedAt = clock();
  private expiryTimer: NodeJS.Timeout | undefined;
  private ackSeq = 0;
  /** CONNECT's client-id: owns durable subscriptions of a connection without a user (ActiveMQ style). */
  private clientId: string | undefined;

  constructor(
    readonly transport: SessionTransport,
    private readonly connect: Omit<ConnectContext, "header"> & { readonly offeredVersions?: readonly StompVersion[] },
    private readonly services: SessionServices,
  ) {
    this.id = services.ids.session();
    this.parser = StompParser.forServer({ maxFrameBytes: services.config.maxFrameBytes, version: "1.2" });
    services.sessions.add(this);
  }

  get topics() {
    return this.transport.topics;
  }

  private get transactions(): OpenTransactions {
    return (this.txMap ??= new OpenTransactions());
  }

  private get pendingAcks(): PendingAcks {
    return (this.ackMap ??= new PendingAcks());
  }

  // A method, so TypeScript does not narrow the state across calls that change it.
  private isClosed(): boolean {
    return this.state === "closed";
  }

  get connected(): boolean {
    return this.state === "connected";
  }

  /** Bytes from the transport (one WebSocket message or one SockJS message). */
  onData(bytes: Uint8Array): void {
    if (this.state === "closed") return;
    this.lastReceived = clock();
    this.services.metrics.bytesIn.inc(bytes.length);
    try {
      // pushEach, not push: CONNECT changes the version that later frames in the same chunk are read with.
      this.parser.pushEach(bytes, this.onFrame, this);
    } catch (err) {
      if (!(err instanceof StompCodecError)) throw err;
      const overLimit = err.code === "frame-too-large" || err.code === "too-many-headers" || err.code === "header-line-too-long";
      if (overLimit) this.limitRefused(err.code, err.message);
      if (err.code === "frame-too-large") {
        // STOMP 1.2 "Size Limits": an ERROR, then close (1009, "message too big").
        const limit = this.services.config.maxFrameBytes;
        this.fail(new StompFailure("frame too large", `frames may be at most ${limit} bytes (HERALD_MAX_FRAME_BYTES): ${err.message}`, "limit", [], CloseCode.tooBig));
        return;
      }
      this.fail(new StompFailure(`malformed frame: ${err.code}`, err.message, overLimit ? "limit" : "protocol-error"));
    }
  }

  /**
   * The transport cut a message over its own cap before a byte of it could be read (uWebSockets.js
   * closes such a socket itself, so no ERROR can go out): counted and logged as an oversized frame.
   */
  messageTooLarge(capBytes: number): void {
    if (this.state === "closed") return;
    this.limitRefused("frame-too-large", `a WebSocket message over ${capBytes} bytes, closed by the transport before it could be answered`);
    this.onClose("limit");
  }

  // A prototype method called with this session as `this`: no closure per connection.
  private onFrame(frame: ClientFrame): void {
    if (this.isClosed()) return;
    if (this.state === "authenticating") (this.queued ??= []).push(frame);
    else this.dispatch(frame);
  }

  /** Every limit that closes a connection is counted and logged at info, like the refusals of the rules. */
  private limitRefused(limit: string, detail: string): void {
    this.services.metrics.limitRejections.inc({ limit });
    this.services.logger.info({ session: this.id, remote: this.transport.remoteAddress, limit, detail }, "limit reached");
  }

  /** The transport closed (client went away, or we closed it). */
  onClose(reason: DisconnectReason = "client-close"): void {
    if (this.state === "closed") return;
    const wasConnected = this.state === "connected";
    this.state = "closed";
    this.cleanup();
    this.services.sessionClosed(this, reason, wasConnected);
  }

  /** Periodic check from the node's sweep: heart-beats, CONNECT timeout, expiry. */
  tick(wallNow: number): void {
    if (this.state === "closed") return;
    const now = (wallNow - CLOCK_ZERO) | 0;
    if (this.state === "connecting" && since(this.openedAt, now) > this.services.config.connectTimeoutMs) {
      this.limitRefused("connect-timeout", "no CONNECT frame in time");
      this.fail(new StompFailure("CONNECT timeout", `no CONNECT frame within ${this.services.config.connectTimeoutMs} ms`, "connect-timeout"));
      return;
    }
    if (this.state !== "connected") return;
    const hb = this.heartbeat;
    if (hb.expectEveryMs > 0 && since(this.lastReceived, now) > hb.expectEveryMs * SILENCE_TOLERANCE) {
      this.services.logger.debug({ session: this.id }, "heart-beat timeout");
      this.terminate("heartbeat-timeout", CloseCode.goingAway, "heart-beat timeout");
      return;
    }
    if (hb.sendEveryMs > 0 && since(this.lastSent, now) >= hb.sendEveryMs) {
      this.lastSent = now;
      this.transport.send(HEARTBEAT_EOL, false);
    }
  }

  /** Fan-out path for subscriptions that cannot share a pre-built frame. */
  deliver(sub: Subscription, parts: MessageParts, prefix: Buffer): void {
    if (this.state !== "connected") return;
    let extra = "";
    if (sub.stream !== undefined) {
      // Recovering or durable: the stream holds, drops duplicates, or adds the recovery header.
      const admitted = sub.stream.admit(parts.message);
      if (admitted === null) return;
      extra = admitted;
    }
    this.emit(sub, parts, prefix, extra, 0);
  }

  /** Writes one MESSAGE, remembering it until ACKed when the subscription acknowledges. */
  private emit(sub: Subscription, parts: MessageParts, prefix: Buffer, extra: string, redeliveries: number): void {
    if (sub.ack !== "auto") {
      // Each unacknowledged message is held in memory: a client that never ACKs must not grow the node.
      const pending = this.pendingAcks;
      const { maxUnacked, maxUnackedBytes } = this.services.config;
      if (pending.size >= maxUnacked) {
        this.limitRefused("unacked", `${pending.size} messages unacknowledged`);
        this.closeWithError("too many unacknowledged messages", `at most ${maxUnacked} messages may wait for ACK or NACK on one connection; durable subscriptions get the rest again after reconnecting`, "limit", CloseCode.policyViolation);
        return;
      }
      // By bytes too (one message always fits): large bodies would reach the count limit only at gigabytes.
      if (pending.size > 0 && pending.bytes + parts.message.body.byteLength > maxUnackedBytes) {
        this.limitRefused("unacked-bytes", `${pending.bytes} bytes unacknowledged`);
        this.closeWithError("too many unacknowledged bytes", `at most ${maxUnackedBytes} bytes of messages may wait for ACK or NACK on one connection; durable subscriptions get the rest again after reconnecting`, "limit", CloseCode.policyViolation);
        return;
      }
      const ackId = `${this.id}-${++this.ackSeq}`;
      pending.hold(this.version === "1.2" ? ackId : `${parts.message.id}\u0000${sub.id}`, { sub, messageId: parts.message.id, message: parts.message, redeliveries });
      if (this.version === "1.2") extra += `ack:${ackId}\n`;
    }
    this.sendRaw(parts.frame(prefix, this.version, extra), parts.binary);
    // Positioned delivery must never skip a frame (the client would not know to recover): close at the
    // limit, before the transport starts dropping, and the client resubscribes from its last offset.
    if (sub.stream !== undefined && this.transport.bufferedAmount() > this.services.config.maxOutboundBytes) {
      this.services.metrics.slowConsumers.inc({ policy: "close" });
      this.closeWithError("slow consumer", `more than ${this.services.config.maxOutboundBytes} bytes waiting to be sent; resubscribe with herald-since-offset to continue`, "slow-consumer", CloseCode.policyViolation);
    }
  }

  /** A message that is not from the live fan-out (replay, redelivery) to one subscription. */
  private emitOne(sub: Subscription, message: BusMessage, extra: string, redeliveries: number): void {
    if (this.state !== "connected" || this.subs.get(sub.id) !== sub) return;
    this.services.metrics.framesOut.inc({ command: "MESSAGE" });
    this.emit(sub, new MessageParts(message, sub.destination), messagePrefix(sub.id, this.version), extra, redeliveries);
  }

  /** Closes with an ERROR frame that tells the client why (limits, drain, expiry). */
  closeWithError(message: string, detail: string, reason: DisconnectReason, code: number = CloseCode.normal): void {
    if (this.state === "closed") return;
    this.services.metrics.errorsSent.inc({ kind: reason });
    this.sendFrame("ERROR", [["message", message], ["content-type", "text/plain"]], detail);
    this.terminate(reason, code, message);
  }

  // ---- frame dispatch ------------------------------------------------------

  private dispatch(frame: ClientFrame): void {
    this.services.metrics.framesIn.inc({ command: frame.command });
    try {
      if (this.state === "connecting") {
        if (frame.command !== "CONNECT" && frame.command !== "STOMP") {
          throw new StompFailure("expected CONNECT", `the first frame must be CONNECT or STOMP, got ${frame.command}`);
        }
        this.onConnect(frame);
        return;
      }
      switch (frame.command) {
        case "CONNECT":
        case "STOMP":
          throw new StompFailure("already connected", `${frame.command} received on a connected session`);
        case "SUBSCRIBE":
          if (this.onSubscribe(frame)) return; // a recovering SUBSCRIBE sends its receipt after the replay
          break;
        case "UNSUBSCRIBE":
          this.onUnsubscribe(frame);
          break;
        case "SEND":
          this.onSend(frame);
          return; // SEND sends its own receipt once published
        case "ACK":
        case "NACK":
          this.onAck(frame);
          break;
        case "BEGIN":
          this.onBegin(frame);
          break;
        case "COMMIT":
          this.onCommit(frame);
          return;
        case "ABORT":
          this.onAbort(frame);
          break;
        case "DISCONNECT":
          this.onDisconnect(frame);
          return;
      }
      this.receiptFor(frame);
    } catch (err) {
      if (err instanceof StompFailure) this.fail(err, header(frame, "receipt"));
      else {
        this.services.logger.error({ err, session: this.id, command: frame.command }, "unexpected error handling frame");
        this.fail(new StompFailure("internal error", "the server failed to handle this frame"), header(frame, "receipt"));
      }
    }
  }

  private onConnect(frame: ClientFrame): void {
    const version = this.negotiateVersion(header(frame, "accept-version"));
    const hb = parseHeartbeatHeader(header(frame, "heart-beat"));
    if (!hb) throw new StompFailure("invalid heart-beat header", `heart-beat must be "cx,cy" with whole numbers, got "${clip(header(frame, "heart-beat") ?? "")}"`);
    this.version = version;
    this.parser.version = version;
    this.clientId = header(frame, HEADER.clientId);
    this.state = "authenticating";
    const ctx: ConnectContext = { remoteAddress: this.connect.remoteAddress, query: this.connect.query, header: (name) => header(frame, name) };
    this.services.authenticator.authenticate(ctx).then(
      (principal) => this.onAuthenticated(principal, version, hb, frame),
      (err: unknown) => {
        if (err instanceof AccessDenied) {
          this.services.onAuthFailure(err.message);
          this.fail(new StompFailure("authentication failed", err.message, "auth-failure"), header(frame, "receipt"));
        } else {
          this.services.logger.error({ err, session: this.id }, "authenticator failed");
          this.fail(new StompFailure("authentication unavailable", "the server could not check your credentials; try again later", "auth-failure"));
        }
      },
    );
  }

  private onAuthenticated(principal: Principal | undefined, version: StompVersion, hb: [number, number], frame: ClientFrame): void {
    if (this.state === "closed") return;
    const admission = this.services.admit(this, principal);
    if (admission) {
      this.services.metrics.limitRejections.inc({ limit: admission.limit });
      this.fail(new StompFailure("connection limit", admission.message, "limit"), header(frame, "receipt"));
      return;
    }
    this.principal = principal;
    this.state = "connected";
    this.heartbeat = version === "1.0" ? NO_HEARTBEAT : sharedHeartbeat(negotiateHeartbeat(hb, this.services.config.heartbeat));
    this.lastReceived = clock();
    this.transport.heartbeatNegotiated?.(this.heartbeat.sendEveryMs, this.heartbeat.expectEveryMs);
    this.scheduleExpiry();
    const headers: Array<[string, string]> = [
      ["version", version],
      ["heart-beat", `${this.heartbeat.sendEveryMs},${this.heartbeat.expectEveryMs}`],
      ["server", this.services.config.serverName],
      ["session", this.id],
    ];
    if (principal) headers.push(["user-name", principal.user]);
    this.sendFrame("CONNECTED", headers);
    this.services.sessionConnected(this);
    const queued = this.queued ?? [];
    this.queued = undefined;
    for (const f of queued) {
      if (this.state !== "connected") break;
      this.dispatch(f);
    }
  }

  private negotiateVersion(acceptVersion: string | undefined): StompVersion {
    // No accept-version means a STOMP 1.0 client (spec "Protocol Negotiation").
    const accepted = acceptVersion === undefined ? ["1.0"] : acceptVersion.split(",").map((v) => v.trim());
    const offered = this.connect.offeredVersions;
    const candidates: StompVersion[] = (["1.2", "1.1", "1.0"] as const).filter((v) => accepted.includes(v) && (!offered || offered.includes(v)));
    const chosen = candidates[0];
    if (!chosen) {
      throw new StompFailure(
        "unsupported protocol version",
        `Supported protocol versions are 1.0, 1.1 and 1.2${offered ? ` (limited by the WebSocket subprotocol to ${offered.join(", ")})` : ""}; the client accepts ${acceptVersion ?? "1.0"}`,
        "protocol-error", [["version", ["1.0", "1.1", "1.2"].filter((v) => !offered || offered.includes(v as StompVersion)).join(",")]], // as the STOMP spec's ERROR
      );
    }
    return chosen;
  }

  private onSubscribe(frame: ClientFrame): boolean {
    const destination = this.requireHeader(frame, "destination");
    // STOMP 1.0 made the id optional; the destination then names the subscription.
    const id = header(frame, "id") ?? (this.version === "1.0" ? destination : undefined);
    if (id === undefined) throw new StompFailure("missing header: id", "SUBSCRIBE requires an id header");
    if (this.subs.has(id)) throw new StompFailure("duplicate subscription id", `subscription id "${clip(id)}" is already in use on this connection`);
    const ackHeader = header(frame, "ack") ?? "auto";
    if (!(ACK_MODES as readonly string[]).includes(ackHeader)) {
      throw new StompFailure("invalid ack mode", `ack must be auto, client or client-individual, got "${clip(ackHeader)}"`);
    }
    // Each SUBSCRIBE costs state on the node (and may read history): churn is bounded like SEND.
    const limited = this.services.takeSubscribeToken(this);
    if (limited) {
      this.limitRefused("subscribe-rate", limited);
      throw new StompFailure("subscribe rate exceeded", limited, "limit");
    }
    if (this.subs.size >= this.services.config.maxSubscriptionsPerConnection) {
      this.limitRefused("subscriptions", `over ${this.services.config.maxSubscriptionsPerConnection} subscriptions`);
      throw new StompFailure("too many subscriptions", `at most ${this.services.config.maxSubscriptionsPerConnection} subscriptions per connection`, "limit");
    }
    const busDestination = this.subscribeTarget(destination);
    const ack = ackHeader as AckMode;
    const stream = this.openStream(frame, destination, busDestination, ack, id);
    const sub: Subscription = { id, destination, busDestination, ack, session: this, ...(stream ? { stream } : {}) };
    this.subs.set(id, sub);
    // Registered before history is read: live messages wait in the stream, so none falls in between.
    this.services.registry.add(sub);
    this.services.subscriptionsChanged();
    if (stream) {
      const receipt = header(frame, "receipt");
      this.chain(async () => {
        const outcome = await stream.start();
        if (outcome !== undefined) this.services.delivery?.recovered(outcome);
        // The RECEIPT of a recovering SUBSCRIBE follows the replay and says how it went.
        if (receipt !== undefined && this.state === "connected") {
          this.sendFrame("RECEIPT", [["receipt-id", receipt], ...(outcome !== undefined ? ([[HEADER.recovered, outcome]] as Array<[string, string]>) : [])]);
        }
      });
      return true;
    }
    return false;
  }

  /** The delivery stream of a SUBSCRIBE that recovers or is durable; undefined for a plain one. */
  private openStream(frame: ClientFrame, destination: string, busDestination: string, ack: AckMode, id: string) {
    const delivery = this.services.delivery;
    const get = (name: string) => header(frame, name);
    try {
      const since = parseSincePosition(get);
      const durableName = parseDurableName(get, this.clientId);
      if (!delivery) {
        if (since !== undefined || durableName !== undefined) throw new DeliveryHeaderError("this server keeps no history: recovery and durable subscriptions are not available");
        return undefined;
      }
      const session = this;
      // The sink serves only the subscription this stream belongs to (an id can be reused after UNSUBSCRIBE).
      const mine = (): Subscription | undefined => {
        const sub = session.subs.get(id);
        return sub !== undefined && sub.stream === stream ? sub : undefined;
      };
      const stream = delivery.openStream({
        destination,
        busDestination,
        since,
        durableName,
        // Users and client-ids are separate namespaces: `client-id:alice` never reaches user alice's cursors.
        owner: this.principal ? { kind: "user", name: this.principal.user } : this.clientId !== undefined ? { kind: "client-id", name: this.clientId } : undefined,
        autoAck: ack === "auto",
        sink: {
          send: (message, extra) => {
            const sub = mine();
            if (sub) session.emitOne(sub, message, extra, 0);
          },
          bufferedAmount: () => session.transport.bufferedAmount(),
          get open() {
            return session.state === "connected" && mine() !== undefined;
          },
        },
      });
      return stream;
    } catch (err) {
      if (err instanceof DeliveryHeaderError) throw new StompFailure("invalid subscription", err.message);
      throw err;
    }
  }

  /** Where a subscription's messages travel on the bus, or a failure naming the destination. */
  private subscribeTarget(destination: string): string {
    const syntax = checkDestinationSyntax(destination);
    if (syntax) throw new StompFailure("invalid destination", syntax);
    // What the destination is comes first, so the ERROR says precisely what is wrong;
    // then the rules decide whether this principal may have it.
    const kind = classify(destination);
    switch (kind) {
      case "topic":
      case "queue":
        break;
      case "user-own":
        if (!this.principal) this.refuse("subscribe", destination, this.noUser(destination));
        break;
      case "user-other":
        break; // refused below, by the rules or else here
      case "app":
        throw new StompFailure("invalid destination", `cannot subscribe to application destination ${clip(destination)}; subscribe to /topic/..., /queue/... or /user/queue/...`);
      default:
        throw new StompFailure("invalid destination", `unknown destination prefix in ${clip(destination)}; use /topic/, /queue/ or /user/queue/`);
    }
    const refused =
      this.services.policy.canSubscribe(this.principal, destination) ??
      (kind === "user-other" ? "subscribe to /user/queue/... to receive your own messages" : undefined);
    if (refused) {
      this.services.onAclDenial("subscribe", destination, this.principal);
      throw new StompFailure("access denied", `not allowed to subscribe to ${clip(destination)}: ${refused}`, "auth-failure");
    }
    if (kind !== "user-own") return destination;
    const own = ownUserBusDestination(this.principal!.user, destination);
    if (own === undefined) {
      throw new StompFailure("invalid destination", `${clip(destination)} names no queue: the dead letters of /user/queue/<name> are at /user/queue/dlq/queue/<name>`);
    }
    return own;
  }

  /**
   * Refuses a destination the session itself turns away (no user; server-only destinations):
   * counted and logged like the rules' refusals, then an ERROR.
   */
  private refuse(action: "subscribe" | "send", destination: string, detail: string): never {
    this.services.metrics.aclDenials.inc({ action });
    this.services.onAclDenial(action, destination, this.principal);
    throw new StompFailure("access denied", detail, "auth-failure");
  }

  /** Why a connection without a user cannot have a user destination, and what would give it one. */
  private noUser(destination: string): string {
    const how = this.services.authenticator.userHint?.() ?? "connect as an authenticated user";
    return `${clip(destination)} is a user destination and this connection has no authenticated user: ${how}`;
  }

  private onUnsubscribe(frame: ClientFrame): void {
    const id = header(frame, "id") ?? (this.version === "1.0" ? header(frame, "destination") : undefined);
    if (id === undefined) throw new StompFailure("missing header: id", "UNSUBSCRIBE requires an id header");
    const sub = this.subs.get(id);
    if (!sub) throw new StompFailure("unknown subscription", `no subscription with id "${clip(id)}" on this connection`);
    this.removeSubscription(sub);
    this.services.subscriptionsChanged();
  }

  private removeSubscription(sub: Subscription): void {
    this.subs.delete(sub.id);
    this.services.registry.remove(sub);
    for (const [k, p] of this.pendingAcks) if (p.sub === sub) this.pendingAcks.settle(k, p);
    void sub.stream?.close();
  }

  private onSend(frame: ClientFrame): void {
    const destination = this.requireHeader(frame, "destination");
    const syntax = checkDestinationSyntax(destination);
    if (syntax) throw new StompFailure("invalid destination", syntax);
    const txId = header(frame, "transaction");
    const tx = txId === undefined ? undefined : this.transactionOf(txId);
    // A handler's effects (its own publishes, whatever else it does) cannot be held back and made
    // atomic with the rest, so application destinations stay outside transactions.
    if (tx && classify(destination) === "app") {
      throw new StompFailure(
        "application destination in a transaction",
        `${clip(destination)} is handled by the application, which cannot take part in a transaction; SEND it without the transaction header`,
      );
    }
    // Every SEND counts, token refreshes too: each one costs a signature check.
    const limited = this.services.takeSendToken(this);
    if (limited) {
      this.services.metrics.limitRejections.inc({ limit: "send-rate" });
      throw new StompFailure("send rate exceeded", limited, "limit");
    }
    if (destination === REFRESH_DESTINATION) {
      this.onRefresh(frame);
      return;
    }
    this.checkSendHeaders(frame);
    // Dead letters are what the server moved there: a client must not be able to forge one.
    if (isDeadLetterDestination(destination)) this.refuse("send", destination, `${clip(destination)} holds dead letters, which only the server writes`);
    if (!this.principal && classify(destination) === "user-own") this.refuse("send", destination, this.noUser(destination));
    const refused = this.services.policy.canSend(this.principal, destination);
    if (refused) {
      this.services.onAclDenial("send", destination, this.principal);
      throw new StompFailure("access denied", `not allowed to send to ${clip(destination)}: ${refused}`, "auth-failure");
    }
    const contentType = header(frame, "content-type");
    const target = this.brokerTarget(destination);
    if (target === undefined) {
      this.afterPublish(frame, this.runAppHandler(frame, destination, contentType));
      return;
    }
    const message = this.outgoing(frame, contentType);
    if (tx) {
      // Checked now (destination, rules), published at COMMIT.
      this.holdInTransaction(tx, frame.body.byteLength);
      tx.sends.push({ destination: target, message });
      this.receiptFor(frame);
      return;
    }
    this.afterPublish(frame, this.services.publish(target, message));
  }

  /** The bus destination of a broker SEND; undefined for an application destination. */
  private brokerTarget(destination: string): string | undefined {
    switch (classify(destination)) {
      case "app":
        return undefined;
      case "topic":
      case "queue":
      case "user-other":
        return destination;
      case "user-own":
        // Refused earlier without a user (onSend); dead letters are never a SEND target.
        return ownUserBusDestination(this.principal!.user, destination)!;
      default:
        throw new StompFailure("unknown destination", `unknown destination prefix in ${clip(destination)}; use /app/, /topic/, /queue/ or /user/`);
    }
  }

  /** A SEND to an application destination: runs its handler (a missing one is an ERROR at once). */
  private runAppHandler(frame: ClientFrame, destination: string, contentType: string | undefined): Promise<void> {
    const handler = this.services.handlers.get(destination);
    if (!handler) throw new StompFailure("unknown destination", `no application handler for ${clip(destination)}`);
    const principal = this.principal;
    const msg = {
      destination,
      body: frame.body,
      ...(contentType !== undefined ? { contentType } : {}),
      header: (name: string) => header(frame, name),
      ...(principal ? { principal } : {}),
      sessionId: this.id,
    };
    // Async, so a handler that throws synchronously rejects like one that fails later.
    const run = async () => {
      await handler(msg, this.services.appContext);
    };
    return run();
  }

  /**
   * A SEND's headers go out to subscribers of every STOMP version: one a 1.0 or 1.1 subscriber
   * could not read back exactly (a line feed or carriage return from a 1.2 `\n`/`\r` escape, a
   * colon in a name) would forge header lines or a body there, so it is refused here. `herald-*`
   * headers are the server's (positions, recovery, redelivery, dead letters): a client cannot set them.
   */
  private checkSendHeaders(frame: ClientFrame): void {
    for (const [name, value] of frame.headers) {
      if (name !== "content-type" && SEND_RESERVED.has(name)) continue;
      const why = name.startsWith("herald-") ? "headers starting with herald- are set by the server" : headerUnsafeForSomeVersion(name, value);
      if (why !== undefined) throw new StompFailure("invalid header", `SEND header "${clip(JSON.stringify(name).slice(1, -1))}" refused: ${why}`);
    }
  }

  private outgoing(frame: ClientFrame, contentType: string | undefined): OutgoingMessage {
    let headers: Record<string, string> | undefined;
    for (const [k, v] of frame.headers) {
      if (SEND_RESERVED.has(k)) continue;
      headers ??= {};
      if (!(k in headers)) headers[k] = v;
    }
    return { body: frame.body, ...(contentType !== undefined ? { contentType } : {}), ...(headers ? { headers } : {}) };
  }

  /**
   * RECEIPT means done: it follows the publish, and errors become ERROR frames.
   * Every publish joins the receipt chain, so a later receipt (DISCONNECT's above
   * all) also means every earlier SEND was published.
   */
  private afterPublish(frame: Frame, work: Promise<void>): void {
    const receipt = header(frame, "receipt");
    const done = work.then(
      () => true,
      (err: unknown) => {
        if (err instanceof StompFailure) this.fail(err, receipt);
        else {
          const unavailable = err instanceof BusUnavailableError || err instanceof HistoryUnavailableError;
          if (!unavailable) this.services.logger.error({ err, session: this.id }, "send failed");
          const detail = unavailable ? (err as Error).message : "the server could not deliver this message";
          this.fail(new StompFailure("send failed", detail, "protocol-error"), receipt);
        }
        return false;
      },
    );
    this.chain(async () => {
      if ((await done) && receipt !== undefined && this.state === "connected") this.sendFrame("RECEIPT", [["receipt-id", receipt]]);
    });
  }

  private onRefresh(frame: ClientFrame): void {
    const auth = this.services.authenticator;
    const token = Buffer.from(frame.body).toString("utf8").trim();
    if (!auth.refresh) throw new StompFailure("refresh not supported", "token refresh needs JWT authentication to be configured");
    const work = auth.refresh(this.principal, token).then(
      (next) => {
        this.principal = next;
        this.scheduleExpiry();
      },
      (err: unknown) => {
        this.services.onAuthFailure(err instanceof Error ? err.message : String(err));
        throw new StompFailure("token refresh refused", err instanceof Error ? err.message : String(err), "auth-failure");
      },
    );
    this.afterPublish(frame, work);
  }

  private onAck(frame: ClientFrame): void {
    const key = this.version === "1.2" ? header(frame, "id") : (() => {
      const mid = header(frame, "message-id");
      const sid = header(frame, "subscription") ?? "";
      return mid === undefined ? undefined : `${mid}\u0000${sid}`;
    })();
    if (key === undefined) throw new StompFailure(`missing header: ${this.version === "1.2" ? "id" : "message-id"}`, `${frame.command} requires the ${this.version === "1.2" ? "id" : "message-id"} header`);
    const txId = header(frame, "transaction");
    if (txId !== undefined) {
      const tx = this.transactionOf(txId);
      this.holdInTransaction(tx, 0);
      tx.acks.push({ key, nack: frame.command === "NACK" });
    } else this.applyAck(key, frame.command === "NACK");
  }

  private applyAck(key: string, nack: boolean): void {
    const pending = this.pendingAcks.get(key);
    if (!pending) return; // already acknowledged or cumulative: harmless
    if (nack) {
      this.pendingAcks.settle(key, pending);
      this.onNack(pending);
      return;
    }
    if (pending.sub.ack === "client") {
      // Cumulative: every earlier message of the subscription is settled too.
      for (const [k, p] of this.pendingAcks) {
        if (p.sub === pending.sub) {
          this.pendingAcks.settle(k, p);
          this.settled(p);
        }
        if (k === key) break;
      }
    } else {
      this.pendingAcks.settle(key, pending);
      this.settled(pending);
    }
  }

  /** An acknowledged message moves its durable cursor. */
  private settled(p: PendingAck): void {
    if (p.message.position) p.sub.stream?.acknowledge(p.message.position);
  }

  /**
   * NACK: send it again (with a redelivery count) up to the limit, then to the dead-letter
   * destination. A durable subscription counts in the cursor store, so a poison message cannot
   * start again at 0 by reconnecting (to any node); other subscriptions count in this session.
   */
  private onNack(p: PendingAck): void {
    if (!this.services.delivery || this.subs.get(p.sub.id) !== p.sub) return;
    const cursor = p.sub.stream?.cursor;
    const position = p.message.position;
    if (cursor === undefined || position === undefined) {
      this.redeliverOrDeadLetter(p, p.redeliveries + 1);
      return;
    }
    cursor.countNack(position).then(
      (count) => this.redeliverOrDeadLetter(p, count),
      (err: unknown) => {
        this.services.logger.warn({ err: err instanceof Error ? err.message : String(err), session: this.id }, "NACK count not stored; counting in this session");
        this.redeliverOrDeadLetter(p, p.redeliveries + 1);
      },
    );
  }

  /** `count`: NACKs of the message so far, this one included. */
  private redeliverOrDeadLetter(p: PendingAck, count: number): void {
    const delivery = this.services.delivery;
    if (!delivery || this.state !== "connected" || this.subs.get(p.sub.id) !== p.sub) return;
    if (count <= delivery.config.maxRedeliveries) {
      delivery.redelivered();
      this.emitOne(p.sub, p.message, `${HEADER.redeliveryCount}:${count}\n`, count);
      return;
    }
    this.settled(p);
    delivery.deadLetter(p.message, this.services.ids.message(), count - 1).catch((err: unknown) =>
      this.services.logger.error({ err, session: this.id, destination: p.message.destination }, "dead letter not stored"),
    );
  }

  private onBegin(frame: ClientFrame): void {
    const tx = this.requireHeader(frame, "transaction");
    if (this.transactions.has(tx)) throw new StompFailure("transaction already started", `transaction "${clip(tx)}" is already open`);
    const opened: Transaction = { sends: [], acks: [], frames: 0, bytes: 0 };
    this.holdInTransaction(opened, 0);
    this.transactions.set(tx, opened);
  }

  /** Counts one more frame (and a SEND's body bytes) held for COMMIT; refuses past the connection's budget. */
  private holdInTransaction(tx: Transaction, bytes: number): void {
    const open = this.transactions;
    const { maxTransactionFrames, maxTransactionBytes } = this.services.config;
    if (open.frames + 1 > maxTransactionFrames || open.bytes + bytes > maxTransactionBytes) {
      const detail = `the open transactions of one connection may hold at most ${maxTransactionFrames} frames (BEGIN, SEND, ACK, NACK) and ${maxTransactionBytes} bytes of SEND bodies; COMMIT or ABORT sooner`;
      this.limitRefused("transaction", detail);
      throw new StompFailure("transaction too large", detail, "limit");
    }
    tx.frames++;
    tx.bytes += bytes;
    open.frames++;
    open.bytes += bytes;
  }

  /** A transaction leaves the open set (COMMIT or ABORT): its budget is free again. */
  private closeTransaction(id: string): Transaction {
    const tx = this.transactionOf(id);
    const open = this.transactions;
    open.delete(id);
    open.frames -= tx.frames;
    open.bytes -= tx.bytes;
    return tx;
  }

  /**
   * All or nothing: every SEND of the transaction in one atomic publish, then (only if that
   * succeeded) its ACKs and NACKs in order. The receipt follows both.
   */
  private onCommit(frame: ClientFrame): void {
    const id = this.requireHeader(frame, "transaction");
    const tx = this.closeTransaction(id);
    const receipt = header(frame, "receipt");
    const published = tx.sends.length === 0 ? Promise.resolve() : this.services.publishAll(tx.sends);
    const done = published.then(
      () => {
        // On a closed session the ACKs are moot: its unacknowledged messages come again (at-least-once).
        if (this.state !== "connected") return false;
        for (const a of tx.acks) this.applyAck(a.key, a.nack);
        return true;
      },
      (err: unknown) => {
        this.fail(this.commitFailure(id, tx, err), receipt);
        return false;
      },
    );
    this.chain(async () => {
      if ((await done) && receipt !== undefined && this.state === "connected") this.sendFrame("RECEIPT", [["receipt-id", receipt]]);
    });
  }

  private commitFailure(id: string, tx: Transaction, err: unknown): StompFailure {
    const what = `${tx.sends.length} SEND(s), ${tx.acks.length} ACK/NACK(s)`;
    if (err instanceof BatchRefusedError) {
      return new StompFailure("transaction failed", `transaction "${clip(id)}" was not committed and nothing of it was applied (${what}): ${err.message}`);
    }
    const unavailable = err instanceof BusUnavailableError || err instanceof HistoryUnavailableError;
    if (!unavailable) this.services.logger.error({ err, session: this.id }, "commit failed");
    const cause = unavailable ? (err as Error).message : "the server could not publish it";
    return new StompFailure(
      "transaction failed",
      `transaction "${clip(id)}" failed (${what}): ${cause}. None of its ACKs/NACKs were applied; its SENDs were published all together or not at all`,
    );
  }

  private onAbort(frame: ClientFrame): void {
    this.closeTransaction(this.requireHeader(frame, "transaction"));
  }

  private transactionOf(id: string): Transaction {
    const tx = this.transactions.get(id);
    if (!tx) throw new StompFailure("unknown transaction", `no open transaction "${clip(id)}"`);
    return tx;
  }

  private onDisconnect(frame: ClientFrame): void {
    const receipt = header(frame, "receipt");
    this.afterPending(() => {
      if (this.state !== "connected") return;
      if (receipt !== undefined) this.sendFrame("RECEIPT", [["receipt-id", receipt]]);
      this.terminate("client-disconnect", CloseCode.normal, "DISCONNECT");
    });
  }

  // ---- helpers ---------------------------------------------------------------

  private requireHeader(frame: ClientFrame, name: string): string {
    const v = header(frame, name);
    if (v === undefined) throw new StompFailure(`missing header: ${name}`, `${frame.command} requires a ${name} header`);
    return v;
  }

  private receiptFor(frame: ClientFrame): void {
    const receipt = header(frame, "receipt");
    if (receipt === undefined) return;
    this.afterPending(() => {
      if (this.state === "connected") this.sendFrame("RECEIPT", [["receipt-id", receipt]]);
    });
  }

  /**
   * Runs `fn` after every earlier publish: at once when none is pending (the
   * common case), else chained, so receipts leave in frame order.
   */
  private afterPending(fn: () => void | Promise<void>): void {
    if (this.pending === 0) void fn();
    else this.chain(fn);
  }

  private chain(fn: () => void | Promise<void>): void {
    this.pending++;
    const tail: Promise<void> = (this.receipts ?? Promise.resolve())
      .then(fn)
      .catch((err: unknown) => this.services.logger.error({ err, session: this.id }, "receipt chain failed"))
      .finally(() => {
        // The last link done: drop the chain rather than keep a settled promise per connection.
        if (--this.pending === 0 && this.receipts === tail) this.receipts = undefined;
      });
    this.receipts = tail;
  }

  private scheduleExpiry(): void {
    clearTimeout(this.expiryTimer);
    const exp = this.principal?.expiresAt;
    if (exp === undefined) return;
    // setTimeout caps at ~24.8 days; re-arm for longer tokens.
    const delay = Math.min(Math.max(0, exp - Date.now()), 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => {
      if (Date.now() >= exp) this.closeWithError("token expired", "the access token expired; reconnect with a new token or refresh it by SENDing it to /app/herald.refresh-token", "token-expired");
      else this.scheduleExpiry();
    }, delay);
    this.expiryTimer.unref();
  }

  private sendFrame(command: ServerCommand, headers: Array<[string, string]>, body?: string): void {
    const bytes = serializeFrame({ command, headers, body: body === undefined ? new Uint8Array(0) : Buffer.from(body, "utf8") }, this.version);
    this.services.metrics.framesOut.inc({ command });
    this.sendRaw(bytes, false);
  }

  private sendRaw(bytes: Uint8Array, binary: boolean): void {
    this.lastSent = clock();
    this.services.metrics.bytesOut.inc(bytes.length);
    this.transport.send(bytes, binary);
  }

  private fail(failure: StompFailure, receipt?: string): void {
    if (this.state === "closed") return;
    const headers: Array<[string, string]> = [["message", failure.message], ["content-type", "text/plain"], ...failure.headers];
    if (receipt !== undefined) headers.push(["receipt-id", receipt]);
    this.services.metrics.errorsSent.inc({ kind: failure.kind });
    this.services.logger.debug({ session: this.id, error: failure.message, detail: failure.detail }, "closing session with ERROR");
    this.sendFrame("ERROR", headers, failure.detail);
    this.terminate(failure.kind, failure.closeCode, failure.message);
  }

  private terminate(reason: DisconnectReason, code: number, text: string): void {
    if (this.state === "closed") return;
    const wasConnected = this.state === "connected";
    this.state = "closed";
    this.cleanup();
    this.services.sessionClosed(this, reason, wasConnected);
    this.transport.close(code, text.slice(0, 120));
  }

  private cleanup(): void {
    clearTimeout(this.expiryTimer);
    for (const sub of this.subs.values()) {
      this.services.registry.remove(sub);
      // Unacknowledged messages stay after the cursor: the next subscription gets them again.
      void sub.stream?.close();
    }
    if (this.subs.size > 0) this.services.subscriptionsChanged();
    this.subs.clear();
    this.txMap = undefined;
    this.ackMap = undefined;
    this.queued = undefined;
  }

  /** For the publish side: builds a bus message from a handler's or client's message. */
  static busMessage(id: string, destination: string, m: OutgoingMessage): BusMessage {
    return {
      destination,
      id,
      headers: m.headers ?? {},
      ...(m.contentType !== undefined ? { contentType: m.contentType } : {}),
      body: typeof m.body === "string" ? Buffer.from(m.body, "utf8") : m.body,
      publishedAt: Date.now(),
    };
  }
}
