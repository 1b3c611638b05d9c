/** How tokens are checked. Built by hand or from the environment by `jwtConfigFromEnv`. */
export type JwtKeyConfig =
  /** HS256/384/512 with a shared secret (at least 32 bytes). */
  | { readonly kind: "secret"; readonly secret: string | Uint8Array }
  /** RS*, PS*, ES* or EdDSA with one PEM public key (SPKI, PKCS#1 or X.509 certificate). */
  | { readonly kind: "public-key"; readonly pem: string }
  /** Same as "public-key", the PEM read once from a file at start-up. */
  | { readonly kind: "public-key-file"; readonly path: string }
  /**
   * A JWKS endpoint. Keys are cached; an unknown `kid` triggers a refetch (at most
   * once per `cooldownMs`), and the set is refetched anyway after `cacheMaxAgeMs`.
   */
  | {
      readonly kind: "jwks";
      readonly url: string;
      /** Minimum time between two fetches; default 30 000 ms. */
      readonly cooldownMs?: number;
      /** Keys older than this are refetched before use; default 600 000 ms. */
      readonly cacheMaxAgeMs?: number;
      /** HTTP timeout of one fetch; default 5 000 ms. */
      readonly timeoutMs?: number;
    };

export interface JwtConfig {
  readonly key: JwtKeyConfig;
  /** Allowed `alg` values; must be admitted by the key. Default: all the key admits. */
  readonly algorithms?: readonly string[];
  /** Expected `iss` (any of, when a list). Not checked when absent. */
  readonly issuer?: string | readonly string[];
  /** Expected `aud` (the token must name one of these). Not checked when absent. */
  readonly audience?: string | readonly string[];
  /** Leeway for `exp`/`nbf`, in seconds. Default 5. */
  readonly clockToleranceSec?: number;
  /** Claim that names the user. Default `sub`. Dotted paths reach nested claims. */
  readonly userClaim?: string;
  /** When true, a connection without any token is let in anonymously. Default false. */
  readonly allowAnonymous?: boolean;
  /**
   * Tokens without `exp` are refused unless this is set: then they are accepted, and a session
   * (or refresh) authenticated by one lasts at most this many seconds from when it was presented.
   */
  readonly maxSessionWithoutExpSec?: number;
}

export const DEFAULT_CLOCK_TOLERANCE_SEC = 5;
export const DEFAULT_USER_CLAIM = "sub";
export const MIN_SECRET_BYTES = 32;
