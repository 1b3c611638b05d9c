import type { BusMessage, StreamPosition } from "./bus.js";

/**
 * The bytes a BusMessage travels as on Redis:
 *
 *   [0]      version (1)
 *   [1..4]   header length N, uint32 big-endian
 *   [5..5+N] header: compact UTF-8 JSON {d, i, h, c?, t, p?: [offset, epoch], o?: origin}
 *   [5+N..]  the body, raw bytes
 *
 * The header is small and parsed once per node; the body is never base64'd nor JSON-escaped,
 * and decoding returns it as a view on the received buffer (no copy).
 */
const VERSION = 1;
const PREFIX = 5;

/** A payload on the bus that is not a valid envelope. */
export class EnvelopeError extends Error {
  override readonly name = "EnvelopeError";
}

interface Header {
  d: string;
  i: string;
  h: Record<string, string>;
  c?: string;
  t: number;
  p?: [number, string];
  /** The bus instance that published it: that node delivered it locally already. */
  o?: string;
}

export function encodeEnvelope(m: BusMessage, origin?: string): Buffer {
  const header: Header = { d: m.destination, i: m.id, h: m.headers, t: m.publishedAt };
  if (origin !== undefined) header.o = origin;
  if (m.contentType !== undefined) header.c = m.contentType;
  if (m.position !== undefined) header.p = [m.position.offset, m.position.epoch];
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const out = Buffer.allocUnsafe(PREFIX + json.length + m.body.byteLength);
  out[0] = VERSION;
  out.writeUInt32BE(json.length, 1);
  json.copy(out, PREFIX);
  out.set(m.body, PREFIX + json.length);
  return out;
}

export function decodeEnvelope(buf: Uint8Array): BusMessage {
  return decodeEnvelopeWithOrigin(buf).message;
}

export function decodeEnvelopeWithOrigin(buf: Uint8Array): { message: BusMessage; origin: string | undefined } {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < PREFIX) throw new EnvelopeError(`bus envelope too short: ${b.length} bytes, need at least ${PREFIX}`);
  if (b[0] !== VERSION) throw new EnvelopeError(`bus envelope has unknown version ${b[0]}, expected ${VERSION}`);
  const n = b.readUInt32BE(1);
  if (n > b.length - PREFIX) throw new EnvelopeError(`bus envelope header length ${n} exceeds the ${b.length - PREFIX} bytes that follow`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(b.toString("utf8", PREFIX, PREFIX + n));
  } catch (err) {
    throw new EnvelopeError(`bus envelope header is not JSON: ${(err as Error).message}`);
  }
  const h = checkHeader(parsed);
  const message: {
    -readonly [K in keyof BusMessage]: BusMessage[K];
  } = {
    destination: h.d,
    id: h.i,
    headers: h.h,
    body: b.subarray(PREFIX + n),
    publishedAt: h.t,
  };
  if (h.c !== undefined) message.contentType = h.c;
  if (h.p !== undefined) message.position = { offset: h.p[0], epoch: h.p[1] } satisfies StreamPosition;
  return { message, origin: h.o };
}

function checkHeader(v: unknown): Header {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new EnvelopeError("bus envelope header is not an object");
  const o = v as Record<string, unknown>;
  if (typeof o.d !== "string" || o.d === "") throw new EnvelopeError("bus envelope header: destination (d) must be a non-empty string");
  if (typeof o.i !== "string") throw new EnvelopeError("bus envelope header: id (i) must be a string");
  if (typeof o.t !== "number" || !Number.isFinite(o.t)) throw new EnvelopeError("bus envelope header: publishedAt (t) must be a finite number");
  if (typeof o.h !== "object" || o.h === null || Array.isArray(o.h)) throw new EnvelopeError("bus envelope header: headers (h) must be an object");
  const headers = o.h as Record<string, unknown>;
  for (const k in headers) {
    if (typeof headers[k] !== "string") throw new EnvelopeError(`bus envelope header: header "${k}" must be a string`);
  }
  if (o.c !== undefined && typeof o.c !== "string") throw new EnvelopeError("bus envelope header: contentType (c) must be a string");
  if (o.o !== undefined && typeof o.o !== "string") throw new EnvelopeError("bus envelope header: origin (o) must be a string");
  if (o.p !== undefined) {
    const p = o.p;
    if (!Array.isArray(p) || p.length !== 2 || !Number.isSafeInteger(p[0]) || (p[0] as number) < 0 || typeof p[1] !== "string") {
      throw new EnvelopeError("bus envelope header: position (p) must be [offset >= 0, epoch string]");
    }
  }
  return o as unknown as Header;
}
