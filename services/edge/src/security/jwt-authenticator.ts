import { AuthError, checkRefresh, extractToken, type Principal as AuthPrincipal, type TokenVerifier } from "@herald/auth";
import type { Logger } from "@herald/observability";
import { AccessDenied, type Authenticator, type ConnectContext, type Principal } from "../session/principal.js";
import type { SecurityMetrics } from "./security-metrics.js";

/**
 * Authenticates CONNECT with a JWT taken from the CONNECT `passcode` header,
 * `Authorization: Bearer …`, or the upgrade URL's `access_token` (first found).
 * A refused token becomes AccessDenied (its message is safe for the ERROR frame);
 * an unreachable JWKS endpoint is a plain Error, so the client hears "try later".
 */
export class JwtAuthenticator implements Authenticator {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly metrics: SecurityMetrics,
    private readonly logger: Logger,
  ) {}

  async authenticate(ctx: ConnectContext): Promise<Principal | undefined> {
    const token = extractToken({ connectHeaders: (name) => ctx.header(name), query: ctx.query });
    try {
      const principal = await this.verifier.authenticate(token);
      return principal && this.withExpiry(principal);
    } catch (err) {
      throw this.refusal(err, "connect", ctx.remoteAddress);
    }
  }

  async refresh(current: Principal | undefined, token: string): Promise<Principal> {
    if (!current) {
      // Upgrading an anonymous connection would bypass the per-user connection limit taken at CONNECT.
      this.metrics.authFailures.inc({ reason: "anonymous-refresh" });
      this.logger.info({ stage: "refresh", reason: "anonymous-refresh" }, "token refresh refused");
      throw new AccessDenied("an anonymous connection cannot take a token; reconnect with the token in the CONNECT frame");
    }
    try {
      return this.withExpiry(checkRefresh(current, await this.verifier.verify(token)));
    } catch (err) {
      throw this.refusal(err, "refresh", undefined, current.user);
    }
  }

  userHint(): string {
    return "CONNECT with a token (the passcode header, Authorization: Bearer …, or ?access_token= on the WebSocket URL)";
  }

  describe(): string {
    return `JWT: tokens required${this.verifier.allowAnonymous ? " when present; connections without a token are anonymous (HERALD_ALLOW_ANONYMOUS=true)" : "; connections without a token are refused"}; clock tolerance ${this.verifier.clockToleranceMs} ms`;
  }

  /** The session closes at expiresAt: the token's exp plus the tolerance the verifier accepted it with. */
  private withExpiry(p: AuthPrincipal): Principal {
    if (p.expiresAt === undefined) return { user: p.user, claims: p.claims };
    return { user: p.user, claims: p.claims, expiresAt: p.expiresAt + this.verifier.clockToleranceMs };
  }

  private refusal(err: unknown, stage: "connect" | "refresh", remoteAddress?: string, user?: string): Error {
    if (!(err instanceof AuthError)) return err instanceof Error ? err : new Error(String(err));
    this.metrics.authFailures.inc({ reason: err.reason });
    if (err.reason === "key-unavailable") {
      // Not the client's fault: loud, and the session answers "authentication unavailable".
      this.logger.error({ stage, err: err.message }, "cannot verify tokens: the key is unavailable");
      return err;
    }
    this.logger.info({ stage, reason: err.reason, remoteAddress, user }, "token refused");
    return new AccessDenied(err.message);
  }
}
