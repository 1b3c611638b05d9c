import type { NotificationJob } from "./notification.js";
import {
  DEFAULT_MAX_BODY_BYTES,
  MAX_CONTENT_TYPE_LENGTH,
  MAX_DESTINATION_LENGTH,
  MAX_HEADERS,
  MAX_HEADER_NAME_LENGTH,
  MAX_HEADER_VALUE_LENGTH,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_USER_LENGTH,
  RESERVED_HEADERS,
} from "./limits.js";

export type Validation<T> = { ok: true; value: T } | { ok: false; error: string; field: string };

export interface ValidateOptions {
  /** Largest body in UTF-8 bytes. Default 64 KiB. */
  maxBodyBytes?: number;
  /** createdAt when the input has none (a backend adding jobs itself may omit it). Default now. */
  createdAt?: number;
}

/** Thrown by the queues for a job that does not validate; names the field. */
export class NotificationValidationError extends Error {
  override readonly name = "NotificationValidationError";
  constructor(
    /** What is wrong, without the field name. */
    readonly reason: string,
    readonly field: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

const FIELDS = new Set(["destination", "user", "body", "contentType", "headers", "idempotencyKey", "createdAt"]);
const BROKER_PREFIXES = ["/topic/", "/queue/"];
// Visible ASCII without the subscription wildcards: a published destination names one place.
const DESTINATION_CHARS = /^[\x21-\x7e]+$/;
const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/; // visible ASCII except ':'
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/; // tab allowed in values, CR/LF/NUL and other controls not

function fail(field: string, error: string): { ok: false; error: string; field: string } {
  return { ok: false, error, field };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks a broker or user destination; returns an error message or undefined. */
export function destinationError(destination: unknown, forUser: boolean): string | undefined {
  if (typeof destination !== "string" || destination.length === 0) return "destination is required and must be a string";
  if (destination.length > MAX_DESTINATION_LENGTH) return `destination is longer than ${MAX_DESTINATION_LENGTH} characters`;
  if (!DESTINATION_CHARS.test(destination)) return "destination may contain only visible ASCII characters (no spaces or control characters)";
  if (forUser) {
    if (!destination.startsWith("/queue/")) return `a user destination must start with /queue/ (got "${destination}"); the client subscribes to /user${destination.startsWith("/") ? destination : "/" + destination}`;
  } else if (!BROKER_PREFIXES.some((p) => destination.startsWith(p))) {
    return `destination must start with /topic/ or /queue/ (got "${destination}"); use "user" to reach one user`;
  }
  if (destination.endsWith("/")) return "destination must not end with /";
  if (destination.includes("//")) return "destination must not contain empty segments (//)";
  if (/[*#]/.test(destination)) return "destination must not contain the wildcards * or #";
  return undefined;
}

/**
 * Validates and normalizes a notification job (headers default to {}, contentType to
 * text/plain, createdAt to now). Every error names the offending field.
 */
export function validateNotification(input: unknown, options: ValidateOptions = {}): Validation<NotificationJob> {
  if (!isRecord(input)) return fail("notification", "a notification must be a JSON object");
  for (const key of Object.keys(input)) {
    if (!FIELDS.has(key)) return fail(key, `unknown field "${key}"; allowed: ${[...FIELDS].join(", ")}`);
  }

  let user: string | undefined;
  if (input.user !== undefined) {
    if (typeof input.user !== "string" || input.user.length === 0) return fail("user", "user must be a non-empty string");
    if (input.user.length > MAX_USER_LENGTH) return fail("user", `user is longer than ${MAX_USER_LENGTH} characters`);
    if (CONTROL.test(input.user) || input.user.includes("\t")) return fail("user", "user must not contain control characters");
    user = input.user;
  }

  const destErr = destinationError(input.destination, user !== undefined);
  if (destErr) return fail("destination", destErr);
  const destination = input.destination as string;

  if (typeof input.body !== "string") return fail("body", "body is required and must be a string");
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // Cheap bound first: a UTF-8 string is at most 3 bytes per UTF-16 unit.
  if (input.body.length * 3 > maxBody && Buffer.byteLength(input.body, "utf8") > maxBody) {
    return fail("body", `body is larger than ${maxBody} bytes`);
  }

  let contentType = "text/plain";
  if (input.contentType !== undefined) {
    if (typeof input.contentType !== "string" || input.contentType.trim() === "") return fail("contentType", "contentType must be a non-empty string");
    if (input.contentType.length > MAX_CONTENT_TYPE_LENGTH) return fail("contentType", `contentType is longer than ${MAX_CONTENT_TYPE_LENGTH} characters`);
    if (CONTROL.test(input.contentType)) return fail("contentType", "contentType must not contain control characters");
    contentType = input.contentType;
  }

  const headers: Record<string, string> = {};
  if (input.headers !== undefined) {
    if (!isRecord(input.headers)) return fail("headers", "headers must be an object of string values");
    const entries = Object.entries(input.headers);
    if (entries.length > MAX_HEADERS) return fail("headers", `at most ${MAX_HEADERS} headers are allowed`);
    for (const [name, value] of entries) {
      const field = `headers.${name}`;
      if (name.length === 0 || name.length > MAX_HEADER_NAME_LENGTH) return fail(field, `header names must be 1 to ${MAX_HEADER_NAME_LENGTH} characters`);
      if (!HEADER_NAME.test(name)) return fail(field, "header names may contain only visible ASCII characters, no colon, CR, LF or NUL");
      if (RESERVED_HEADERS.includes(name.toLowerCase())) return fail(field, `header "${name}" is set by the gateway and cannot be overridden`);
      if (typeof value !== "string") return fail(field, "header values must be strings");
      if (value.length > MAX_HEADER_VALUE_LENGTH) return fail(field, `header values must be at most ${MAX_HEADER_VALUE_LENGTH} characters`);
      if (CONTROL.test(value)) return fail(field, "header values must not contain CR, LF, NUL or other control characters");
      headers[name] = value;
    }
  }

  let idempotencyKey: string | undefined;
  if (input.idempotencyKey !== undefined) {
    const k = input.idempotencyKey;
    if (typeof k !== "string" || k.length === 0 || k.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      return fail("idempotencyKey", `idempotencyKey must be a string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
    }
    if (!/^[\x20-\x7e]+$/.test(k)) return fail("idempotencyKey", "idempotencyKey may contain only printable ASCII characters");
    idempotencyKey = k;
  }

  let createdAt = options.createdAt ?? Date.now();
  if (input.createdAt !== undefined) {
    if (typeof input.createdAt !== "number" || !Number.isSafeInteger(input.createdAt) || input.createdAt < 0) {
      return fail("createdAt", "createdAt must be milliseconds since the epoch (a non-negative whole number)");
    }
    createdAt = input.createdAt;
  }

  const value: NotificationJob = {
    destination,
    ...(user !== undefined ? { user } : {}),
    body: input.body,
    contentType,
    headers,
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    createdAt,
  };
  return { ok: true, value };
}

/** validateNotification that throws NotificationValidationError. */
export function assertNotification(input: unknown, options: ValidateOptions = {}): NotificationJob {
  const r = validateNotification(input, options);
  if (!r.ok) throw new NotificationValidationError(r.error, r.field);
  return r.value;
}
