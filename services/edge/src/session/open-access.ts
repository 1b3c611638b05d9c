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

  userHint(): string {
    return this.insecureLoginAsUser
      ? "HERALD_INSECURE_LOGIN_AS_USER is on, so CONNECT with a login header naming the user"
      : "this server has no JWT key, so every connection is anonymous; to try user destinations locally, start it with HERALD_INSECURE_LOGIN_AS_USER=true and CONNECT with a login header naming the user; in production set a JWT key (HERALD_JWT_SECRET, HERALD_JWT_PUBLIC_KEY_FILE or HERALD_JWT_JWKS_URL) so that clients connect with tokens";
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
