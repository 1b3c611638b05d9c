import { ConnectionCounter } from "@herald/auth";
import type { Logger } from "@herald/observability";
import type { Principal } from "../session/principal.js";
import type { Admission } from "../session/services.js";
import type { StompSession } from "../session/session.js";

export interface ConnectionAdmissionLimits {
  readonly maxConnectionsPerUser: number;
  readonly maxConnectionsPerAddress: number;
}

/**
 * Connections per client address, counted from transport open (WebSocket upgrade,
 * SockJS session open) to close, so sockets that never send CONNECT count too; and
 * connections per user, counted from CONNECTED to close.
 * The transports call `closed` once for every admitted `open`; the node calls
 * `release` only for sessions it admitted, once each. The user is remembered per
 * session so a token refresh cannot unbalance the count.
 * (The node counts refusals as herald_limit_rejections_total.)
 */
export class ConnectionAdmission {
  private readonly perUser = new ConnectionCounter();
  private readonly perAddress = new ConnectionCounter();
  private readonly users = new WeakMap<StompSession, string>();

  constructor(
    private readonly limits: ConnectionAdmissionLimits,
    private readonly logger: Logger,
  ) {}

  /** A transport opened from `address` (the client address): undefined takes a slot, else why not. */
  open(address: string): Admission | undefined {
    const max = this.limits.maxConnectionsPerAddress;
    if (this.perAddress.tryAcquire(address, max)) return undefined;
    this.logger.info({ remoteAddress: address, limit: max }, "connection refused: too many connections from this address");
    return { limit: "connections-per-address", message: `at most ${max} connections from one address on this node; close another connection first` };
  }

  /** The transport of an admitted `open` closed. */
  closed(address: string): void {
    this.perAddress.release(address);
  }

  /** At CONNECT, once the principal is known. */
  admit(session: StompSession, principal: Principal | undefined): Admission | undefined {
    const user = principal?.user;
    if (user === undefined) return undefined;
    const max = this.limits.maxConnectionsPerUser;
    if (!this.perUser.tryAcquire(user, max)) {
      this.logger.info({ session: session.id, user, limit: max }, "connection refused: too many connections for this user");
      return { limit: "connections-per-user", message: `at most ${max} connections per user on this node; close another connection first` };
    }
    this.users.set(session, user);
    return undefined;
  }

  release(session: StompSession): void {
    const user = this.users.get(session);
    if (user === undefined) return;
    this.users.delete(session);
    this.perUser.release(user);
  }

  /** Live counts, for tests and debugging. */
  counts(user: string | undefined, address: string): { user: number; address: number } {
    return { user: user === undefined ? 0 : this.perUser.count(user), address: this.perAddress.count(address) };
  }
}
