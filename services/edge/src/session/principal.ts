/** Who is on the other end of a session, once CONNECT was accepted. */
export interface Principal {
  readonly user: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /** ms since the epoch; the session is closed at this instant. */
  readonly expiresAt?: number;
}

/** What the session knows about the connection when CONNECT arrives. */
export interface ConnectContext {
  readonly remoteAddress: string;
  /** Query string of the upgrade request (without "?"), e.g. for `access_token`. */
  readonly query: string;
  header(name: string): string | undefined;
}

export class AccessDenied extends Error {
  override readonly name = "AccessDenied";
}

/**
 * Decides who a CONNECT is. Resolves undefined for an anonymous session that is
 * allowed; rejects with AccessDenied (its message goes into the ERROR frame).
 */
export interface Authenticator {
  authenticate(ctx: ConnectContext): Promise<Principal | undefined>;
  /** Validates a refreshed token sent to /app/herald.refresh-token; rejects with AccessDenied. */
  refresh?(current: Principal | undefined, token: string): Promise<Principal>;
  /** Said once at start-up, so operators see how connections are authenticated. */
  describe(): string;
  /** For a client without a user that asked for a user destination: what gives a connection a user here. */
  userHint?(): string;
}

/** Decides which destinations a principal may SUBSCRIBE or SEND to. */
export interface DestinationPolicy {
  canSubscribe(principal: Principal | undefined, destination: string): string | undefined;
  canSend(principal: Principal | undefined, destination: string): string | undefined;
}
