import type { Authenticator, ConnectContext, DestinationPolicy, Principal } from "./principal.js";

/**
 * The embedded default without JWT settings: everyone may connect, as with Spring's
 * default broker. With `insecureLoginAsUser` the CONNECT `login` header names the
 * user, a development switch for user destinations before real authentication.
 */
export class OpenAuthenticator implements Authenticator {
  constructor(private readonly insecureLoginAsUser: boolean) {}

  async authenticate(ctx: ConnectContext): Promise<Principal | undefined> {
    if (!this.insecureLoginAsUser) return undefined;
    const login = ctx.header("login");
    return login ? { user: login, claims: {} } : undefined;
  }

  describe(): string {
    return this.insecureLoginAsUser
      ? "open: anonymous connections allowed; HERALD_INSECURE_LOGIN_AS_USER=true takes the CONNECT login header as the user name (development only)"
      : "open: anonymous connections allowed (set HERALD_JWT_SECRET or another JWT setting to require tokens)";
  }
}

/** Without rules: subscribe to any broker destination, send anywhere routable. */
export const OPEN_POLICY: DestinationPolicy = {
  canSubscribe: () => undefined,
  canSend: () => undefined,
};
