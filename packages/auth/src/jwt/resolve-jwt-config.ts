import { readFileSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { ConfigError } from "@herald/config";
import {
  ASYMMETRIC_ALGORITHMS,
  HMAC_ALGORITHMS,
  algorithmsForPublicKey,
  parsePublicKeyPem,
  restrictAlgorithms,
  type JwsAlgorithm,
} from "./algorithms.js";
import { DEFAULT_CLOCK_TOLERANCE_SEC, DEFAULT_USER_CLAIM, MIN_SECRET_BYTES, type JwtConfig } from "./jwt-config.js";

/** A JwtConfig checked and turned into what jose needs. */
export interface ResolvedJwtConfig {
  readonly key:
    | { readonly kind: "secret"; readonly secret: Uint8Array }
    | { readonly kind: "public-key"; readonly key: KeyObject }
    | { readonly kind: "jwks"; readonly url: URL; readonly cooldownMs: number; readonly cacheMaxAgeMs: number; readonly timeoutMs: number };
  readonly algorithms: readonly JwsAlgorithm[];
  readonly issuer?: string[];
  readonly audience?: string[];
  readonly clockToleranceSec: number;
  readonly userClaim: string;
  readonly allowAnonymous: boolean;
  /** Undefined: tokens without `exp` are refused. */
  readonly maxSessionWithoutExpSec?: number;
}

/** What each setting is called in error messages (config field names, or environment variables). */
export interface JwtSettingNames {
  readonly secret: string;
  readonly publicKey: string;
  readonly jwks: string;
  readonly algorithms: string;
  readonly issuer: string;
  readonly audience: string;
  readonly clockTolerance: string;
  readonly userClaim: string;
  readonly maxSessionWithoutExp: string;
}

export const FIELD_NAMES: JwtSettingNames = {
  secret: "jwt.key.secret",
  publicKey: "jwt.key.pem",
  jwks: "jwt.key.url",
  algorithms: "jwt.algorithms",
  issuer: "jwt.issuer",
  audience: "jwt.audience",
  clockTolerance: "jwt.clockToleranceSec",
  userClaim: "jwt.userClaim",
  maxSessionWithoutExp: "jwt.maxSessionWithoutExpSec",
};

function list(v: string | readonly string[] | undefined, name: string): string[] | undefined {
  if (v === undefined) return undefined;
  const items = typeof v === "string" ? [v] : [...v];
  if (items.length === 0) return undefined;
  for (const i of items) if (typeof i !== "string" || i.length === 0) throw new ConfigError(name, "entries must be non-empty strings");
  return items;
}

function positive(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v <= 0) throw new ConfigError(name, `must be a positive number of milliseconds, got ${v}`);
  return v;
}

/** Validates a JwtConfig; every problem is a ConfigError naming the setting. */
export function resolveJwtConfig(config: JwtConfig, names: JwtSettingNames = FIELD_NAMES): ResolvedJwtConfig {
  const k = config.key;
  let key: ResolvedJwtConfig["key"];
  let admitted: readonly JwsAlgorithm[];
  let keyDescription: string;
  switch (k.kind) {
    case "secret": {
      const secret = typeof k.secret === "string" ? new TextEncoder().encode(k.secret) : k.secret;
      // Never echo the secret itself, only its length.
      if (secret.length < MIN_SECRET_BYTES)
        throw new ConfigError(names.secret, `an HMAC secret must be at least ${MIN_SECRET_BYTES} bytes, got ${secret.length}`);
      key = { kind: "secret", secret };
      admitted = HMAC_ALGORITHMS;
      keyDescription = "a shared secret";
      break;
    }
    case "public-key":
    case "public-key-file": {
      let pem: string;
      let what: string;
      if (k.kind === "public-key-file") {
        what = `file ${k.path}`;
        try {
          pem = readFileSync(k.path, "utf8");
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
          throw new ConfigError(names.publicKey, `cannot read ${what}: ${code}`);
        }
      } else {
        what = "the PEM";
        pem = k.pem;
      }
      const parsed = parsePublicKeyPem(pem);
      if (typeof parsed === "string") throw new ConfigError(names.publicKey, `${what} ${parsed}`);
      const algs = algorithmsForPublicKey(parsed);
      if (typeof algs === "string") throw new ConfigError(names.publicKey, `${what}: ${algs}`);
      key = { kind: "public-key", key: parsed };
      admitted = algs;
      keyDescription = `an ${parsed.asymmetricKeyType?.toUpperCase() ?? ""} public key`;
      break;
    }
    case "jwks": {
      let url: URL;
      try {
        url = new URL(k.url);
      } catch {
        throw new ConfigError(names.jwks, `not a valid URL: "${k.url}"`);
      }
      if (url.protocol !== "https:" && url.protocol !== "http:")
        throw new ConfigError(names.jwks, `must be an http(s) URL, got "${url.protocol}"`);
      key = {
        kind: "jwks",
        url,
        cooldownMs: positive(k.cooldownMs, 30_000, `${names.jwks} cooldownMs`),
        cacheMaxAgeMs: positive(k.cacheMaxAgeMs, 600_000, `${names.jwks} cacheMaxAgeMs`),
        timeoutMs: positive(k.timeoutMs, 5_000, `${names.jwks} timeoutMs`),
      };
      admitted = ASYMMETRIC_ALGORITHMS;
      keyDescription = "a JWKS (asymmetric keys only)";
      break;
    }
    default:
      throw new ConfigError("jwt.key.kind", `expected secret, public-key, public-key-file or jwks, got "${(k as { kind: unknown }).kind}"`);
  }
  const algorithms = restrictAlgorithms(admitted, config.algorithms, keyDescription);
  if (typeof algorithms === "string") throw new ConfigError(names.algorithms, algorithms);

  const tol = config.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
  if (!Number.isFinite(tol) || tol < 0 || tol > 3600)
    throw new ConfigError(names.clockTolerance, `must be between 0 and 3600 seconds, got ${tol}`);
  const userClaim = config.userClaim ?? DEFAULT_USER_CLAIM;
  if (typeof userClaim !== "string" || userClaim.length === 0) throw new ConfigError(names.userClaim, "must be a non-empty claim name");

  const noExp = config.maxSessionWithoutExpSec;
  if (noExp !== undefined && (!Number.isSafeInteger(noExp) || noExp < 1))
    throw new ConfigError(names.maxSessionWithoutExp, `must be a whole number of seconds >= 1, got ${noExp}`);

  const issuer = list(config.issuer, names.issuer);
  const audience = list(config.audience, names.audience);
  return {
    key,
    algorithms,
    ...(issuer ? { issuer } : {}),
    ...(audience ? { audience } : {}),
    clockToleranceSec: tol,
    userClaim,
    allowAnonymous: config.allowAnonymous ?? false,
    ...(noExp !== undefined ? { maxSessionWithoutExpSec: noExp } : {}),
  };
}
