import { validateNotification, type NotificationJob, type Validation } from "@herald/queue";

/** Fields a client may send for one notification (createdAt is the server's). */
export const REQUEST_FIELDS = ["destination", "user", "body", "contentType", "headers", "idempotencyKey"] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * One notification as the API receives it → the queued job. A string body is sent as
 * is (`text/plain` unless contentType says otherwise); any other JSON value is
 * serialized once (`application/json` by default). `prefix` names the item in a batch.
 */
export function requestToJob(input: unknown, opts: { now: number; maxBodyBytes: number; prefix?: string }): Validation<NotificationJob> {
  const at = (field: string) => (opts.prefix === undefined ? field : field === "" ? opts.prefix : `${opts.prefix}.${field}`);
  if (!isRecord(input)) return { ok: false, error: "a notification must be a JSON object", field: at("") || "notification" };
  for (const key of Object.keys(input)) {
    if (!(REQUEST_FIELDS as readonly string[]).includes(key)) {
      return { ok: false, error: `unknown field "${key}"; allowed: ${REQUEST_FIELDS.join(", ")}`, field: at(key) };
    }
  }
  if (!("body" in input)) return { ok: false, error: "body is required (a string, or any JSON value to send as JSON)", field: at("body") };
  const { body, contentType, ...rest } = input;
  const text = typeof body === "string";
  const candidate = {
    ...rest,
    body: text ? body : JSON.stringify(body),
    contentType: contentType === undefined ? (text ? "text/plain" : "application/json") : contentType,
  };
  const r = validateNotification(candidate, { maxBodyBytes: opts.maxBodyBytes, createdAt: opts.now });
  return r.ok ? r : { ok: false, error: r.error, field: at(r.field) };
}
