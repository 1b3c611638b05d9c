import assert from "node:assert/strict";
import { StompCodecError, type StompCodecErrorCode } from "../src/index.js";

const encoder = new TextEncoder();

/** Bytes of a string (UTF-8). */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(b: Uint8Array): string {
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(b);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Asserts that fn throws a StompCodecError with `code` whose message matches every pattern. */
export function assertCodecError(fn: () => unknown, code: StompCodecErrorCode, ...message: RegExp[]): StompCodecError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof StompCodecError, `expected StompCodecError(${code}), got ${String(caught)}`);
  assert.equal(caught.code, code, `wrong code; message: ${caught.message}`);
  for (const m of message) assert.match(caught.message, m);
  return caught;
}
