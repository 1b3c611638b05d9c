import { createPublicKey, type KeyObject } from "node:crypto";

/**
 * Which JWS algorithms a key may verify. The list is always explicit and derived
 * from the key, so `alg: none` and HS/RS confusion (an HMAC token "signed" with
 * the public key text) can never pass: an asymmetric key never admits HS*, a
 * secret never admits anything else.
 */
export type JwsAlgorithm =
  | "HS256" | "HS384" | "HS512"
  | "RS256" | "RS384" | "RS512"
  | "PS256" | "PS384" | "PS512"
  | "ES256" | "ES384" | "ES512"
  | "EdDSA" | "Ed25519";

export const HMAC_ALGORITHMS: readonly JwsAlgorithm[] = ["HS256", "HS384", "HS512"];
const RSA_ALGORITHMS: readonly JwsAlgorithm[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
const PSS_ALGORITHMS: readonly JwsAlgorithm[] = ["PS256", "PS384", "PS512"];
const EDDSA_ALGORITHMS: readonly JwsAlgorithm[] = ["EdDSA", "Ed25519"];
/** A JWKS may hold any asymmetric key; jose matches each key to the token's alg. */
export const ASYMMETRIC_ALGORITHMS: readonly JwsAlgorithm[] = [...RSA_ALGORITHMS, "ES256", "ES384", "ES512", ...EDDSA_ALGORITHMS];

const ALL: ReadonlySet<string> = new Set<string>([...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS]);

export function isJwsAlgorithm(s: string): s is JwsAlgorithm {
  return ALL.has(s);
}

/** The algorithms a PEM public key can verify, or an error message naming what is wrong with the key. */
export function algorithmsForPublicKey(key: KeyObject): readonly JwsAlgorithm[] | string {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return RSA_ALGORITHMS;
    case "rsa-pss":
      return PSS_ALGORITHMS;
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === "prime256v1") return ["ES256"];
      if (curve === "secp384r1") return ["ES384"];
      if (curve === "secp521r1") return ["ES512"];
      return `EC curve ${curve ?? "(unknown)"} is not usable for JWT; use P-256, P-384 or P-521`;
    }
    case "ed25519":
      return EDDSA_ALGORITHMS;
    default:
      return `key type ${key.asymmetricKeyType ?? "(unknown)"} is not supported; use an RSA, EC (P-256/384/521) or Ed25519 public key`;
  }
}

/** Parses a PEM public key (SPKI, PKCS#1 or an X.509 certificate); a private key is refused. */
export function parsePublicKeyPem(pem: string): KeyObject | string {
  if (/PRIVATE KEY-----/.test(pem)) return "contains a private key; give the public key only (the gateway never needs the private key)";
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(pem)) return "is not a PEM file (no -----BEGIN ...----- line)";
  try {
    return createPublicKey(pem);
  } catch (e) {
    return `is not a readable PEM public key (${e instanceof Error ? e.message : String(e)})`;
  }
}

/**
 * Checks an explicit algorithm list against what the key admits; returns the list
 * or an error message. An empty/absent request means "everything the key admits".
 */
export function restrictAlgorithms(
  admitted: readonly JwsAlgorithm[],
  requested: readonly string[] | undefined,
  keyDescription: string,
): readonly JwsAlgorithm[] | string {
  if (requested === undefined || requested.length === 0) return admitted;
  const out: JwsAlgorithm[] = [];
  for (const alg of requested) {
    if (!isJwsAlgorithm(alg)) return `unknown algorithm "${alg}"; known: ${[...ALL].join(", ")}`;
    if (!admitted.includes(alg)) return `algorithm ${alg} cannot be used with ${keyDescription} (it admits ${admitted.join(", ")})`;
    if (!out.includes(alg)) out.push(alg);
  }
  return out;
}
