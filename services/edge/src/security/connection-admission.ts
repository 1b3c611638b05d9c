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
 * Connections per user and per remote address, counted from CONNECTED to close.
 * The node calls release only for sessions it admitted, once each; the counted
 * keys are remembered per session so a token refresh cannot unbalance them.
 * (The rejection itself is counted by the session as herald_limit_rejections_total.)
 */
export class ConnectionAdmission {
  private readonly perUser = new ConnectionCounter();
  private readonly perAddress = new ConnectionCounter();
  private readonly held = new WeakMap<StompSession, { address: string; user: string | undefined }>();

  constructor(
    private readonly limits: ConnectionAdmissionLimits,
    private readonly logger: Logger,
  ) {}

  admit(session: StompSession, principal: Principal | undefined): Admission | undefined {
    const address = session.transport.remoteAddress;
    const { maxConnectionsPerAddress: perAddress, maxConnectionsPerUser: perUser } = this.limits;
    if (!this.perAddress.tryAcquire(address, perAddress)) {
      this.logger.info({ session: session.id, remoteAddress: address, limit: perAddress }, "connection refused: too many connections from this address");
      return { limit: "connections-per-address", message: `at most ${perAddress} connections from one address on this node` };
    }
    const user = principal?.user;
    if (user !== undefined && !this.perUser.tryAcquire(user, perUser)) {
      this.perAddress.release(address);
      this.logger.info({ session: session.id, user, limit: perUser }, "connection refused: too many connections for this user");
      return { limit: "connections-per-user", message: `at most ${perUser} connections per user on this node; close another connection first` };
    }
    this.held.set(session, { address, user });
    return undefined;
  }

  release(session: StompSession): void {
    const h = this.held.get(session);
    if (!h) return;
    this.held.delete(session);
    this.perAddress.release(h.address);
    if (h.user !== undefined) this.perUser.release(h.user);
  }

  /** Live counts, for tests and debugging. */
  counts(user: string | undefined, address: string): { user: number; address: number } {
    return { user: user === undefined ? 0 : this.perUser.count(user), address: this.perAddress.count(address) };
  }
}
