import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type KeyObject as JoseKeyObject } from "jose";
import { AuthError } from "../errors.js";
import type { Principal } from "../principal.js";
import { freezeClaims, readClaim } from "./claims.js";
import type { JwtConfig } from "./jwt-config.js";
import { resolveJwtConfig, type ResolvedJwtConfig } from "./resolve-jwt-config.js";

export interface TokenVerifier {
  /** Verifies a token and returns who it names; throws AuthError (with a `reason`) otherwise. */
  verify(token: string | undefined): Promise<Principal>;
  /**
   * What the edge calls on CONNECT: no token and anonymous access allowed gives
   * `undefined` (anonymous); otherwise the same as `verify`. A token that is
   * present but bad is refused even when anonymous access is allowed.
   */
  authenticate(token: string | undefined): Promise<Principal | undefined>;
  readonly allowAnonymous: boolean;
  /** The leeway applied to exp/nbf, for the edge's expiry timer. */
  readonly clockToleranceMs: number;
}

/** Tokens longer than this are refused before any parsing (they would only cost CPU). */
const MAX_TOKEN_CHARS = 16 * 1024;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

type Key = Uint8Array | JoseKeyObject | JWTVerifyGetKey;

function keyFor(resolved: ResolvedJwtConfig): Key {
  const k = resolved.key;
  if (k.kind === "secret") return k.secret;
  if (k.kind === "public-key") return k.key as unknown as JoseKeyObject;
  return createRemoteJWKSet(k.url, {
    cooldownDuration: k.cooldownMs,
    cacheMaxAge: k.cacheMaxAgeMs,
    timeoutDuration: Math.round(k.timeoutMs),
  });
}

function describeExpected(v: readonly string[]): string {
  return v.length === 1 ? `"${v[0]}"` : `one of ${v.map((s) => `"${s}"`).join(", ")}`;
}

/** Turns jose's errors into our reasons; the message never includes key material. */
function translate(e: unknown, resolved: ResolvedJwtConfig): AuthError {
  if (e instanceof AuthError) return e;
  if (e instanceof errors.JWTExpired) {
    if (e.claim === "iat") return new AuthError("expired", "token is too old", { cause: e });
    const exp = typeof e.payload.exp === "number" ? ` at ${new Date(e.payload.exp * 1000).toISOString()}` : "";
    return new AuthError("expired", `token expired${exp}`, { cause: e });
  }
  if (e instanceof errors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case "nbf":
      case "iat":
        if (e.reason === "check_failed") return new AuthError("not-yet-valid", `token is not valid yet ("${e.claim}" is in the future)`, { cause: e });
        break;
      case "iss":
        return new AuthError("wrong-issuer", `token issuer is not ${describeExpected(resolved.issuer ?? [])}`, { cause: e });
      case "aud":
        return new AuthError("wrong-audience", `token audience does not include ${describeExpected(resolved.audience ?? [])}`, { cause: e });
    }
    return new AuthError("malformed", `token claim "${e.claim}" is invalid: ${e.message}`, { cause: e });
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return new AuthError("algorithm-refused", `token algorithm is not allowed (allowed: ${resolved.algorithms.join(", ")})`, { cause: e });
  if (e instanceof errors.JWSSignatureVerificationFailed) return new AuthError("bad-signature", "token signature does not verify", { cause: e });
  if (e instanceof errors.JWKSNoMatchingKey) return new AuthError("bad-signature", "no key of the JWKS matches the token's kid and alg", { cause: e });
  if (e instanceof errors.JWKSMultipleMatchingKeys) return new AuthError("bad-signature", "token signature does not verify with any matching JWKS key", { cause: e });
  if (e instanceof errors.JWKSTimeout) return new AuthError("key-unavailable", "the JWKS endpoint did not answer in time", { cause: e });
  if (e instanceof errors.JWKSInvalid) return new AuthError("key-unavailable", "the JWKS endpoint answered with an invalid key set", { cause: e });
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return new AuthError("malformed", `token is malformed: ${e.message}`, { cause: e });
  if (e instanceof errors.JOSENotSupported) return new AuthError("algorithm-refused", `token uses something not supported: ${e.message}`, { cause: e });
  if (resolved.key.kind === "jwks") {
    // Fetch failures (network, non-200, bad JSON) are JOSEError or TypeError from fetch.
    const msg = e instanceof Error ? e.message : String(e);
    return new AuthError("key-unavailable", `could not fetch the JWKS: ${msg}`, { cause: e });
  }
  // jose raises TypeError when the key cannot do the token's alg (e.g. RSA key too short).
  return new AuthError("bad-signature", `token does not verify: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** Checks that the text is a compact JWS and its header's alg is one we allow, before jose runs. */
function precheck(token: string, resolved: ResolvedJwtConfig): void {
  if (token.length > MAX_TOKEN_CHARS) throw new AuthError("malformed", `token is longer than ${MAX_TOKEN_CHARS} characters`);
  const parts = token.split(".").length;
  if (parts === 5) throw new AuthError("malformed", "encrypted tokens (JWE) are not supported; send a signed JWT");
  if (!COMPACT_JWS.test(token)) throw new AuthError("malformed", "token is not a JWT (expected three base64url parts separated by dots)");
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new AuthError("malformed", "token header is not base64url-encoded JSON");
  }
  if (typeof alg !== "string") throw new AuthError("malformed", 'token header has no "alg"');
  if (!(resolved.algorithms as readonly string[]).includes(alg))
    throw new AuthError("algorithm-refused", `token algorithm "${alg.slice(0, 32)}" is not allowed (allowed: ${resolved.algorithms.join(", ")})`);
  if (token.endsWith(".")) throw new AuthError("malformed", "token has no signature");
}

function principalFrom(payload: JWTPayload, resolved: ResolvedJwtConfig, now: number): Principal {
  const userClaim = resolved.userClaim;
  const claims = freezeClaims(payload);
  const raw = readClaim(claims, userClaim);
  let user: string | undefined;
  if (typeof raw === "string" && raw.length > 0) user = raw;
  else if (typeof raw === "number" && Number.isSafeInteger(raw)) user = String(raw);
  if (user === undefined)
    throw new AuthError("no-user-claim", raw === undefined ? `token has no "${userClaim}" claim to name the user` : `token claim "${userClaim}" must be a non-empty string`);
  if (typeof payload.exp === "number") return { user, claims, expiresAt: payload.exp * 1000 };
  // A token that never expires would give a session that never ends (and a refresh to one would lift an expiry).
  const maxSec = resolved.maxSessionWithoutExpSec;
  if (maxSec === undefined) throw new AuthError("no-expiry", 'token has no "exp" claim: tokens must expire');
  return { user, claims, expiresAt: now + maxSec * 1000 };
}

/**
 * Builds a verifier. The configuration is validated now (ConfigError naming the
 * field); a JWKS is fetched lazily on the first token and cached by jose.
 */
export function createTokenVerifier(config: JwtConfig): TokenVerifier {
  const resolved = resolveJwtConfig(config);
  const key = keyFor(resolved);
  const options = {
    algorithms: [...resolved.algorithms],
    clockTolerance: resolved.clockToleranceSec,
    ...(resolved.issuer ? { issuer: resolved.issuer } : {}),
    ...(resolved.audience ? { audience: resolved.audience } : {}),
  };

  const verify = async (token: string | undefined): Promise<Principal> => {
    if (token === undefined || token.trim() === "") throw new AuthError("missing", "no token: send it as the CONNECT passcode, an Authorization: Bearer header or an access_token query parameter");
    token = token.trim();
    precheck(token, resolved);
    let payload: JWTPayload;
    try {
      payload = (await jwtVerify(token, key, options)).payload;
    } catch (e) {
      throw translate(e, resolved);
    }
    return principalFrom(payload, resolved, Date.now());
  };

  return {
    verify,
    async authenticate(token) {
      if ((token === undefined || token.trim() === "") && resolved.allowAnonymous) return undefined;
      return verify(token);
    },
    allowAnonymous: resolved.allowAnonymous,
    clockToleranceMs: resolved.clockToleranceSec * 1000,
  };
}
