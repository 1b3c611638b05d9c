import { randomBytes } from "node:crypto";

/**
 * A fresh epoch: 64 random bits, base64url (11 characters). Random rather than a counter or a
 * clock so that a stream recreated after any kind of loss can never reuse an old epoch.
 * The alphabet needs no escaping in JSON, which the Redis script relies on.
 */
export function newEpoch(): string {
  return randomBytes(8).toString("base64url");
}
