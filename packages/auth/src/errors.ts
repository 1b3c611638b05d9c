/** Why a token was refused; stable codes the edge can log, count and put in an ERROR frame. */
export type AuthErrorReason =
  | "missing"
  | "malformed"
  | "expired"
  | "not-yet-valid"
  | "bad-signature"
  | "wrong-issuer"
  | "wrong-audience"
  | "algorithm-refused"
  | "no-user-claim"
  /** The token has no `exp` claim, and tokens that never expire are not accepted (the default). */
  | "no-expiry"
  /** A token refresh named a different user than the session's. */
  | "user-changed"
  /** The key could not be obtained (JWKS endpoint down or answering garbage): not the client's fault. */
  | "key-unavailable";

/**
 * A refused credential. The message is safe to send to the client: it never
 * contains the secret, a key or the token itself.
 */
export class AuthError extends Error {
  override readonly name = "AuthError";
  constructor(
    readonly reason: AuthErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
