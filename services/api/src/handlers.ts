import { IdempotencyConflictError, isBatchError, MAX_IDEMPOTENCY_KEY_LENGTH, NotificationValidationError, QueueUnavailableError, type NotificationJob, type NotificationQueue } from "@herald/queue";
import type { Logger } from "@herald/observability";
import type { ApiConfig } from "./api-config.js";
import type { Exchange } from "./exchange.js";
import { DISCARD_LIMIT, readBody } from "./read-body.js";
import { requestToJob } from "./notification-request.js";
import type { RouteId } from "./routes.js";

/** What a handler may use: everything from `req` was read in the synchronous part. */
export interface RequestContext {
  readonly ex: Exchange;
  readonly params: readonly string[];
  readonly contentType: string;
  readonly contentLength: string;
  /** The Idempotency-Key header; undefined when absent. */
  readonly idempotencyKey: string | undefined;
  /** Whose idempotency keys these are (a fingerprint of the API key); undefined for loopback callers. */
  readonly idempotencyScope: string | undefined;
}

export interface HandlerDeps {
  queue: NotificationQueue;
  logger: Logger;
  config: ApiConfig;
  openApi: string;
}

export type Handler = (ctx: RequestContext) => void;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const JSON_TYPE = /^application\/json[ \t]*(;[ \t]*charset[ \t]*=[ \t]*"?utf-8"?[ \t]*)?$/i;

/** Checks media type and declared length, then reads and parses the JSON body; answers errors itself. */
function withJsonBody(ctx: RequestContext, limit: number, logger: Logger, onJson: (value: unknown) => void): void {
  const { ex } = ctx;
  if (!JSON_TYPE.test(ctx.contentType.trim())) {
    ex.error(415, `Content-Type must be application/json, got ${ctx.contentType === "" ? "none" : `"${ctx.contentType}"`}`, null);
    return;
  }
  const tooLarge = () => ex.error(413, `request body is larger than ${limit} bytes`, null, {}, {}, true);
  const declared = ctx.contentLength === "" ? undefined : Number(ctx.contentLength);
  // A declared length over the limit is refused before reading only when reading it is not worth it (read-body.ts).
  if (declared !== undefined && declared > DISCARD_LIMIT) {
    tooLarge();
    return;
  }
  readBody(
    ex.res,
    limit,
    declared,
    (buf) => {
      let value: unknown;
      try {
        value = JSON.parse(utf8.decode(buf));
      } catch (err) {
        ex.error(400, `malformed JSON: ${(err as Error).message}`, null);
        return;
      }
      // This runs in a uWebSockets.js data callback: a throw here would take the process down.
      try {
        onJson(value);
      } catch (err) {
        logger.error({ err }, "API handler threw");
        ex.error(500, "internal error", null);
      }
    },
    tooLarge,
  );
}

/** The header follows the idempotencyKey field's rules (validate.ts), worded for the header. */
function idempotencyKeyError(key: string): string | undefined {
  if (key === "") return "Idempotency-Key must not be empty; leave the header out to publish without one";
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) return `Idempotency-Key must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`;
  if (!/^[\x20-\x7e]+$/.test(key)) return "Idempotency-Key may contain only printable ASCII characters";
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function queueFailure(ex: Exchange, logger: Logger, err: unknown): void {
  // The queue validates again with its own limits (e.g. a smaller body limit than the API's).
  if (err instanceof NotificationValidationError) {
    ex.error(statusFor(err.field, err.reason), err.reason, err.field);
    return;
  }
  if (err instanceof QueueUnavailableError) {
    logger.warn({ err: err.message }, "queue unavailable");
    ex.error(503, "the queue is unavailable; retry (with the same Idempotency-Key)", null, { "retry-after": "1" });
    return;
  }
  logger.error({ err }, "API request failed");
  ex.error(500, "internal error", null);
}

/** A body over the byte limit is a 413 even when it came inside an acceptable request. */
function statusFor(field: string, error: string): number {
  return /(^|\.)body$/.test(field) && /larger than/.test(error) ? 413 : 400;
}

export function createHandlers(deps: HandlerDeps): Record<RouteId, Handler> {
  const { queue, logger, config } = deps;

  const postNotification: Handler = (ctx) => {
    const { ex } = ctx;
    const headerKey = ctx.idempotencyKey;
    if (headerKey !== undefined) {
      const err = idempotencyKeyError(headerKey);
      if (err) return ex.error(400, err, "Idempotency-Key");
    }
    withJsonBody(ctx, config.maxBodyBytes, logger, (value) => {
      const r = requestToJob(value, { now: Date.now(), maxBodyBytes: config.maxBodyBytes });
      if (!r.ok) return ex.error(statusFor(r.field, r.error), r.error, r.field);
      const bodyKey = r.value.idempotencyKey;
      if (headerKey !== undefined && bodyKey !== undefined && bodyKey !== headerKey) {
        return ex.error(400, "the Idempotency-Key header and the idempotencyKey field differ", "idempotencyKey");
      }
      const key = headerKey ?? bodyKey;
      const job: NotificationJob = key !== undefined ? { ...r.value, idempotencyKey: key } : r.value;
      const scope = ctx.idempotencyScope !== undefined ? { idempotencyScope: ctx.idempotencyScope } : {};
      queue.enqueue(job, key !== undefined ? { idempotencyKey: key, ...scope } : scope).then(
        ({ id, duplicate }) => {
          const headers: Record<string, string> = { location: `/v1/notifications/${encodeURIComponent(id)}` };
          if (duplicate) headers["idempotent-replayed"] = "true";
          ex.json(202, { id }, headers);
        },
        (err) => {
          // 422, not 409: the request conflicts with the key's first use, not with the
          // current state of a resource (draft-ietf-httpapi-idempotency-key-header).
          if (err instanceof IdempotencyConflictError) return ex.error(422, err.message, headerKey !== undefined ? "Idempotency-Key" : "idempotencyKey");
          queueFailure(ex, logger, err);
        },
      );
    });
  };

  const postBatch: Handler = (ctx) => {
    const { ex } = ctx;
    if (ctx.idempotencyKey !== undefined) return ex.error(400, "a batch takes idempotencyKey per notification, not an Idempotency-Key header", "Idempotency-Key");
    withJsonBody(ctx, config.maxBatchBytes, logger, (value) => {
      if (!isRecord(value)) return ex.error(400, 'expected a JSON object {"notifications": [...]}', null);
      for (const key of Object.keys(value)) if (key !== "notifications") return ex.error(400, `unknown field "${key}"; allowed: notifications`, key);
      const items = value.notifications;
      if (!Array.isArray(items)) return ex.error(400, "notifications is required and must be an array", "notifications");
      if (items.length === 0) return ex.error(400, "notifications must not be empty", "notifications");
      if (items.length > config.maxBatch) return ex.error(413, `at most ${config.maxBatch} notifications per batch, got ${items.length}`, "notifications");

      const now = Date.now();
      const results: Array<Record<string, unknown>> = new Array(items.length);
      const valid: Array<{ index: number; job: NotificationJob }> = [];
      items.forEach((item, index) => {
        const r = requestToJob(item, { now, maxBodyBytes: config.maxBodyBytes, prefix: `notifications[${index}]` });
        if (r.ok) valid.push({ index, job: r.value });
        else results[index] = { error: r.error, field: r.field };
      });
      const answer = () => {
        const accepted = results.filter((r) => "id" in r).length;
        if (accepted === items.length) ex.json(202, { results });
        else if (accepted === 0) ex.error(400, "no notification in the batch was accepted", "notifications", {}, { results });
        else ex.json(207, { results });
      };
      if (valid.length === 0) return answer();
      queue.enqueueBatch(valid.map((v) => v.job), ctx.idempotencyScope !== undefined ? { idempotencyScope: ctx.idempotencyScope } : {}).then(
        (stored) => {
          stored.forEach((s, i) => {
            const index = valid[i]!.index;
            results[index] = isBatchError(s) ? { error: s.error, field: `notifications[${index}].${s.field}` } : s.duplicate ? { id: s.id, replayed: true } : { id: s.id };
          });
          answer();
        },
        (err) => queueFailure(ex, logger, err),
      );
    });
  };

  const getNotification: Handler = (ctx) => {
    const { ex } = ctx;
    const id = ctx.params[0] ?? "";
    if (id === "" || id.length > 128) return ex.error(404, `no notification with id "${id}"`, "id");
    queue.getState(id).then(
      (state) => (state ? ex.json(200, state) : ex.error(404, `no notification with id "${id}"`, "id")),
      (err) => queueFailure(ex, logger, err),
    );
  };

  const getOpenApi: Handler = ({ ex }) => ex.raw(200, deps.openApi);

  return { postNotification, postBatch, getNotification, getOpenApi };
}
