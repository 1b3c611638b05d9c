/** Limits of the job contract, shared by the API, the queues and the worker. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
export const MAX_DESTINATION_LENGTH = 512;
export const MAX_USER_LENGTH = 256;
export const MAX_HEADERS = 32;
export const MAX_HEADER_NAME_LENGTH = 128;
export const MAX_HEADER_VALUE_LENGTH = 4096;
export const MAX_CONTENT_TYPE_LENGTH = 256;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
/** Idempotency keys are remembered this long. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/** Headers the gateway sets itself; a notification may not override them. */
export const RESERVED_HEADERS: readonly string[] = ["destination", "subscription", "message-id", "content-length", "content-type"];
