/** Who is on the other end of a connection, as proven by a verified token. */
export interface Principal {
  /** The user name taken from the configured user claim (default `sub`). */
  readonly user: string;
  /** Every claim of the verified token. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** The token's `exp` in milliseconds since the epoch; absent when the token has no `exp`. */
  readonly expiresAt?: number;
}
