import { ConfigError, readBool, readInt, readList, readString, type Env } from "@herald/config";
import type { JwtConfig, JwtKeyConfig } from "./jwt-config.js";
import { resolveJwtConfig, type JwtSettingNames } from "./resolve-jwt-config.js";

const ENV_NAMES: JwtSettingNames = {
  secret: "HERALD_JWT_SECRET",
  publicKey: "HERALD_JWT_PUBLIC_KEY_FILE",
  jwks: "HERALD_JWT_JWKS_URL",
  algorithms: "HERALD_JWT_ALGORITHMS",
  issuer: "HERALD_JWT_ISSUER",
  audience: "HERALD_JWT_AUDIENCE",
  clockTolerance: "HERALD_JWT_CLOCK_TOLERANCE_SEC",
  userClaim: "HERALD_JWT_USER_CLAIM",
  maxSessionWithoutExp: "HERALD_JWT_NO_EXP_MAX_SESSION_S",
};

/** Settings that only make sense with a key; setting one without a key is a mistake worth stopping for. */
const KEY_DEPENDENT = [
  ENV_NAMES.algorithms,
  ENV_NAMES.issuer,
  ENV_NAMES.audience,
  ENV_NAMES.clockTolerance,
  ENV_NAMES.userClaim,
  ENV_NAMES.maxSessionWithoutExp,
] as const;

function secretFromEnv(value: string): string | Uint8Array {
  // "base64:" lets operators pass random bytes that are not valid text.
  if (!value.startsWith("base64:")) return value;
  const b64 = value.slice("base64:".length);
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64)) throw new ConfigError(ENV_NAMES.secret, "the text after base64: is not base64");
  return new Uint8Array(Buffer.from(b64, b64.includes("-") || b64.includes("_") ? "base64url" : "base64"));
}

/**
 * JWT settings from the environment, validated now (the key file is read and
 * parsed here), or undefined when no key is configured: the gateway then stays
 * open and every connection is anonymous.
 *
 * HERALD_JWT_SECRET            HMAC secret (HS256/384/512), ≥ 32 bytes; "base64:..." for binary
 * HERALD_JWT_PUBLIC_KEY_FILE   PEM public key file (RSA, EC P-256/384/521, Ed25519)
 * HERALD_JWT_JWKS_URL          JWKS endpoint (keys cached, refetched on unknown kid)
 * HERALD_JWT_ALGORITHMS        comma list, restricted to what the key admits (default: all it admits)
 * HERALD_JWT_ISSUER            expected iss, comma list = any of
 * HERALD_JWT_AUDIENCE          expected aud, comma list = any of
 * HERALD_JWT_USER_CLAIM        claim naming the user (default sub)
 * HERALD_JWT_CLOCK_TOLERANCE_SEC  leeway for exp/nbf (default 5)
 * HERALD_ALLOW_ANONYMOUS       true: connections without a token are let in (default false)
 * HERALD_JWT_NO_EXP_MAX_SESSION_S  unset (default): tokens without exp are refused; N: accepted, the
 *                              session then lasts at most N s from the CONNECT or refresh that presented it
 */
export function jwtConfigFromEnv(env: Env): JwtConfig | undefined {
  const secret = readString(env, ENV_NAMES.secret);
  const file = readString(env, ENV_NAMES.publicKey);
  const jwks = readString(env, ENV_NAMES.jwks);
  const given = [
    secret !== undefined && ENV_NAMES.secret,
    file !== undefined && ENV_NAMES.publicKey,
    jwks !== undefined && ENV_NAMES.jwks,
  ].filter((x): x is string => typeof x === "string");
  const anonymousSet = readString(env, "HERALD_ALLOW_ANONYMOUS") !== undefined;
  const allowAnonymous = readBool(env, "HERALD_ALLOW_ANONYMOUS", given.length === 0);

  if (given.length === 0) {
    for (const name of KEY_DEPENDENT)
      if (readString(env, name) !== undefined)
        throw new ConfigError(name, `is set but no key is: set one of ${ENV_NAMES.secret}, ${ENV_NAMES.publicKey} or ${ENV_NAMES.jwks}`);
    if (anonymousSet && !allowAnonymous)
      throw new ConfigError("HERALD_ALLOW_ANONYMOUS", `is false but no key is set to verify tokens with: set one of ${ENV_NAMES.secret}, ${ENV_NAMES.publicKey} or ${ENV_NAMES.jwks}`);
    return undefined;
  }
  if (given.length > 1) throw new ConfigError(given.join(", "), "set only one way of verifying tokens");

  let key: JwtKeyConfig;
  if (secret !== undefined) key = { kind: "secret", secret: secretFromEnv(secret) };
  else if (file !== undefined) key = { kind: "public-key-file", path: file };
  else key = { kind: "jwks", url: jwks as string };

  const algorithms = readList(env, ENV_NAMES.algorithms);
  const issuer = readList(env, ENV_NAMES.issuer);
  const audience = readList(env, ENV_NAMES.audience);
  const userClaim = readString(env, ENV_NAMES.userClaim);
  const noExpText = readString(env, ENV_NAMES.maxSessionWithoutExp);
  const config: JwtConfig = {
    key,
    ...(algorithms.length > 0 ? { algorithms } : {}),
    ...(issuer.length > 0 ? { issuer } : {}),
    ...(audience.length > 0 ? { audience } : {}),
    ...(userClaim !== undefined ? { userClaim } : {}),
    clockToleranceSec: readInt(env, ENV_NAMES.clockTolerance, 5, { min: 0, max: 3600 }),
    allowAnonymous,
    ...(noExpText !== undefined ? { maxSessionWithoutExpSec: readInt(env, ENV_NAMES.maxSessionWithoutExp, 0, { min: 1 }) } : {}),
  };
  // Fail at start-up, naming the variable, rather than at the first CONNECT.
  resolveJwtConfig(config, ENV_NAMES);
  return config;
}
