/**
 * SockJS frames (protocol 0.3.3): "o" open, "h" heart-beat, "a[...]" messages,
 * "c[code,reason]" close. Frames are transport-neutral strings; each transport
 * wraps them (newline, "data: ", <script>, JSONP callback).
 */
export const OPEN_FRAME = "o";
export const HEARTBEAT_FRAME = "h";

// Characters JSON.stringify leaves raw but browsers or proxies mangle on some
// transports (the protocol's `escapable_by_server`, plus surrogates as sockjs-node does).
// eslint-disable-next-line no-control-regex
const ESCAPABLE = /[\x00-\x1f\ud800-\udfff\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]/g;

function escapeChar(c: string): string {
  return "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
}

// Fan-out sends one message to many sessions in a row: remember the last result
// so the JSON encoding happens once per message, not once per subscriber.
let lastMessage: string | undefined;
let lastQuoted = "";

/** JSON string literal of one message with the protocol's extra unicode escaping. */
export function quoteMessage(message: string): string {
  if (message === lastMessage) return lastQuoted;
  let quoted = JSON.stringify(message);
  ESCAPABLE.lastIndex = 0;
  if (ESCAPABLE.test(quoted)) quoted = quoted.replace(ESCAPABLE, escapeChar);
  lastMessage = message;
  lastQuoted = quoted;
  return quoted;
}

/** "a[...]" from messages already passed through quoteMessage. */
export function messagesFrame(quoted: readonly string[]): string {
  return "a[" + quoted.join(",") + "]";
}

export function closeFrame(code: number, reason: string): string {
  return "c[" + String(code) + "," + quoteMessage(reason) + "]";
}

export const ANOTHER_CONNECTION_FRAME = closeFrame(2010, "Another connection still open");
export const INTERRUPTED_CODE = 1002;
export const INTERRUPTED_REASON = "Connection interrupted";

export class SockJsPayloadError extends Error {
  override readonly name = "SockJsPayloadError";
}

/**
 * Decodes what a client sent: a JSON array of strings (or a single JSON string on
 * websockets). Throws SockJsPayloadError with the protocol's wording:
 * "Payload expected." or "Broken JSON encoding.".
 */
export function decodeMessages(body: string, allowSingleString: boolean): string[] {
  if (body === "") throw new SockJsPayloadError("Payload expected.");
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new SockJsPayloadError("Broken JSON encoding.");
  }
  if (typeof parsed === "string" && allowSingleString) return [parsed];
  if (!Array.isArray(parsed)) throw new SockJsPayloadError("Payload expected. (a JSON array of strings)");
  for (let i = 0; i < parsed.length; i++) {
    if (typeof parsed[i] !== "string") {
      throw new SockJsPayloadError(`Payload expected. (message ${i} is ${parsed[i] === null ? "null" : typeof parsed[i]}, not a string)`);
    }
  }
  return parsed as string[];
}
