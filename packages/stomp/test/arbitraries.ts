import fc from "fast-check";
import {
  serializeFrame,
  CLIENT_COMMANDS,
  SERVER_COMMANDS,
  escapesHeaders,
  type Command,
  type Frame,
  type StompVersion,
} from "../src/index.js";

export type Side = "client" | "server";

// Characters that exercise escaping, line ends, splitting at the colon and UTF-8.
const SPECIALS = [":", "\n", "\r", "\\", "\\n", "\\c", "\\r", "é", "😀", " ", "\uFEFF", "\t", "ü:", "\r\n", "\0"];
const piece = fc.oneof(
  fc.constantFrom(...SPECIALS),
  fc.string({ unit: "binary", maxLength: 6 }),
  fc.string({ maxLength: 8 }),
);
const anyText = fc.array(piece, { maxLength: 5 }).map((a) => a.join(""));

/**
 * Makes a header name or value representable in `version` for that command:
 * NUL never; without escaping (1.0, CONNECT/STOMP/CONNECTED) no LF, no colon in names and no
 * trailing CR in values (it would read back as CRLF); 1.1 cannot escape CR at all.
 */
function representable(s: string, isName: boolean, escapes: boolean, version: StompVersion): string {
  let out = s.replace(/\0/g, "");
  if (!escapes) {
    out = out.replace(/\n/g, "");
    if (isName) out = out.replace(/:/g, "");
  }
  if (escapes && version === "1.1") out = out.replace(/\r/g, "");
  if (!isName && !(escapes && version === "1.2")) out = out.replace(/\r+$/, "");
  if (isName && (out.length === 0 || out === "content-length")) out = "h" + out;
  return out;
}

const body = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ min: 0, max: 2, maxLength: 16 }), // NUL-heavy
  fc.constant(new Uint8Array(0)),
);

export function frameArb(side: Side, version: StompVersion): fc.Arbitrary<Frame> {
  const commands: readonly Command[] = side === "client" ? CLIENT_COMMANDS : SERVER_COMMANDS;
  return fc
    .tuple(fc.constantFrom(...commands), fc.array(fc.tuple(anyText, anyText), { maxLength: 6 }), body)
    .map(([command, headers, b]) => {
      const escapes = escapesHeaders(command, version);
      return {
        command,
        headers: headers.map(([n, v]) => [representable(n, true, escapes, version), representable(v, false, escapes, version)] as const),
        body: b,
      };
    });
}

/** The frame a parser must return for `frame` after serializeFrame (which may add content-length). */
export function expectedAfterRoundTrip(frame: Frame): Frame {
  const adds = frame.body.length > 0 || frame.command === "SEND" || frame.command === "MESSAGE" || frame.command === "ERROR";
  const headers = frame.headers.map(([n, v]) => [n, v] as [string, string]);
  if (adds) headers.push(["content-length", String(frame.body.length)]);
  return { command: frame.command, headers, body: frame.body };
}

/** Zero or more heart-beat EOLs. */
export const heartbeatsArb = fc.array(fc.constantFrom("\n", "\r\n"), { maxLength: 3 });

/** Splits `input` at the given cut points (taken modulo its length). */
export function splitAt(input: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (input.length === 0 ? 0 : c % (input.length + 1))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    out.push(input.subarray(from, p));
    from = p;
  }
  out.push(input.subarray(from));
  return out;
}

const encoder = new TextEncoder();
const ADDED_LENGTH = encoder.encode("\ncontent-length:0\n\n");

/**
 * Writes `frame` the way a peer that never sends content-length would: its body (which must
 * hold no NUL) runs to the NUL. serializeFrame always adds content-length to a non-empty body,
 * so this serializes the frame without its body and drops the content-length:0 it may add.
 */
export function serializeWithoutContentLength(frame: Frame, version: StompVersion): Uint8Array {
  if (frame.body.includes(0)) throw new Error("a body with NUL needs content-length");
  const head = serializeFrame({ command: frame.command, headers: frame.headers, body: new Uint8Array(0) }, version);
  const nul = head.length - 1;
  const tail = head.subarray(nul - ADDED_LENGTH.length, nul);
  const added = tail.length === ADDED_LENGTH.length && tail.every((b, i) => b === ADDED_LENGTH[i]);
  // Up to and including the blank line, minus the "content-length:0\n" line if it was added.
  const lines = added
    ? [head.subarray(0, nul - ADDED_LENGTH.length + 1), encoder.encode("\n")]
    : [head.subarray(0, nul)];
  let size = frame.body.length + 1;
  for (const l of lines) size += l.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const l of lines) {
    out.set(l, at);
    at += l.length;
  }
  out.set(frame.body, at);
  return out;
}
