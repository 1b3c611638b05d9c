import { tempDir as makeTempDir, type TempDir } from "@herald/testkit";
import { generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { SignJWT, type JWTPayload } from "jose";
import { AuthError, type AuthErrorReason } from "../src/index.js";
import assert from "node:assert/strict";

export const nowSec = (): number => Math.floor(Date.now() / 1000);

export function hmacSecret(): string {
  return randomBytes(32).toString("hex");
}

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicPem: string;
}

export function keyPair(kind: "rsa" | "ec-p256" | "ec-p384" | "ed25519"): KeyPair {
  const pair =
    kind === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : kind === "ed25519"
        ? generateKeyPairSync("ed25519")
        : generateKeyPairSync("ec", { namedCurve: kind === "ec-p256" ? "P-256" : "P-384" });
  return { ...pair, publicPem: pair.publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/** Signs `payload`; tokens expire in 5 minutes unless the payload says otherwise (`exp: undefined` for none). */
export async function sign(
  payload: JWTPayload,
  key: KeyObject | Uint8Array | string,
  alg: string,
  header: Record<string, string> = {},
): Promise<string> {
  const k = typeof key === "string" ? new TextEncoder().encode(key) : key;
  return new SignJWT({ exp: nowSec() + 300, ...payload }).setProtectedHeader({ alg, typ: "JWT", ...header }).sign(k);
}

export function tempDir(): TempDir {
  return makeTempDir("herald-auth-");
}

export async function rejectsWith(p: Promise<unknown>, reason: AuthErrorReason, message?: RegExp): Promise<AuthError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AuthError, `expected AuthError, got ${String(e)}`);
    assert.equal(e.reason, reason, `reason (message: ${e.message})`);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected AuthError ${reason}, but the token was accepted`);
}

export function b64url(obj: unknown): string {
  return Buffer.from(JSON.stringify(obj)).toString("base64url");
}
