import { StompCodecError, quote } from "./errors.js";
import { escapeHeaderValue } from "./escape.js";
import { escapesHeaders, isClientCommand, isServerCommand, type Frame, type StompVersion } from "./frame.js";

export { escapeHeaderName, escapeHeaderValue, unescapeHeaderValue } from "./escape.js";

/** What a peer sends as a heart-beat between frames. */
export const HEARTBEAT_EOL: Uint8Array = new Uint8Array([0x0a]);

const encoder = new TextEncoder();
// Reused between calls so that each frame costs one allocation (the output).
let scratch = new Uint8Array(4096);

const CONTENT_LENGTH_VALUE = /^[0-9]+$/;

function needsContentLength(frame: Frame): boolean {
  return frame.body.length > 0 || frame.command === "SEND" || frame.command === "MESSAGE" || frame.command === "ERROR";
}

/** A header that will not be escaped (1.0, or CONNECT/CONNECTED/STOMP) must already be a single line. */
function checkRaw(name: string, value: string, index: number, command: string, version: StompVersion): void {
  const why = version === "1.0" ? "STOMP 1.0 has no header escaping" : `${command} headers are never escaped`;
  if (name.includes("\n") || name.includes(":")) {
    throw new StompCodecError("invalid-header", `header ${index + 1} name ${quote(name)} contains a line feed or colon, which ${why} cannot carry`);
  }
  if (value.includes("\n")) {
    throw new StompCodecError("invalid-header", `header ${index + 1} (${quote(name)}) value contains a line feed, which ${why} cannot carry`);
  }
}

/**
 * Serializes a frame for `version`: command, escaped headers, blank line, body, NUL.
 * Adds `content-length` (unless the frame already has one, which must then match the
 * body) for SEND, MESSAGE and ERROR frames and any frame with a non-empty body.
 * Throws StompCodecError for a frame that cannot be written in that version.
 */
export function serializeFrame(frame: Frame, version: StompVersion): Uint8Array {
  const { command, headers, body } = frame;
  if (!isClientCommand(command) && !isServerCommand(command)) {
    throw new StompCodecError("invalid-command", `cannot serialize unknown command ${quote(String(command))}`);
  }
  const escapes = escapesHeaders(command, version);
  let head = command + "\n";
  let hasContentLength = false;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i];
    if (name.length === 0) throw new StompCodecError("invalid-header", `header ${i + 1} has an empty name`);
    // NUL ends a frame on the wire; no version can carry it in a header.
    if (name.includes("\0") || value.includes("\0")) {
      throw new StompCodecError("invalid-header", `header ${i + 1} (${quote(name)}) contains a NUL character, which no STOMP version can carry in a header`);
    }
    // A CR right before the LF would be read back as a CRLF line end, and only 1.2 can escape it.
    if (value.endsWith("\r") && !(escapes && version === "1.2")) {
      throw new StompCodecError("invalid-header", `header ${i + 1} (${quote(name)}) value ends with a carriage return, which STOMP ${version} cannot carry${escapes ? "" : ` in ${command}`}`);
    }
    if (escapes) {
      head += escapeHeaderValue(name, version) + ":" + escapeHeaderValue(value, version) + "\n";
    } else {
      checkRaw(name, value, i, command, version);
      head += name + ":" + value + "\n";
    }
    if (name === "content-length" && !hasContentLength) {
      hasContentLength = true;
      if (!CONTENT_LENGTH_VALUE.test(value) || Number(value) !== body.length) {
        throw new StompCodecError("invalid-content-length", `content-length header ${quote(value)} does not match the body length ${body.length}`);
      }
    }
  }
  if (!hasContentLength && needsContentLength(frame)) head += "content-length:" + body.length + "\n";
  head += "\n";

  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (scratch.length < head.length * 3) scratch = new Uint8Array(Math.max(head.length * 3, scratch.length * 2));
  const { written } = encoder.encodeInto(head, scratch);
  const out = new Uint8Array(written + body.length + 1);
  out.set(scratch.subarray(0, written), 0);
  out.set(body, written);
  // The trailing NUL is already 0.
  return out;
}
