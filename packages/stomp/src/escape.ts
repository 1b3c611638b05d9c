import { StompCodecError, quote } from "./errors.js";
import type { StompVersion } from "./frame.js";

// STOMP 1.1 defines \n \c \\ ; 1.2 adds \r. 1.0 defines no escaping at all.
const NEEDS_ESCAPE_11 = /[\\\n:]/;
const NEEDS_ESCAPE_12 = /[\\\n\r:]/;
const ESCAPE_11 = /[\\\n:]/g;
const ESCAPE_12 = /[\\\n\r:]/g;

function escapeChar(c: string): string {
  switch (c) {
    case "\\": return "\\\\";
    case "\n": return "\\n";
    case "\r": return "\\r";
    default: return "\\c"; // ":"
  }
}

/**
 * Escapes a header value (or name; the rules are the same) for `version`.
 * 1.0 has no escaping, so the value is returned unchanged; whether it can be
 * written at all is the serializer's check.
 */
export function escapeHeaderValue(value: string, version: StompVersion): string {
  if (version === "1.0") return value;
  if (version === "1.1") return NEEDS_ESCAPE_11.test(value) ? value.replace(ESCAPE_11, escapeChar) : value;
  return NEEDS_ESCAPE_12.test(value) ? value.replace(ESCAPE_12, escapeChar) : value;
}

/** Same rules as values (STOMP 1.2 "Value Encoding" applies to names and values). */
export const escapeHeaderName = escapeHeaderValue;

// What each version cannot carry, in a name or in a value, so that the receiver reads back
// exactly what was meant. NUL ends a frame. 1.0 has no escaping: a line feed would start a
// forged header line (or end the headers, forging the body), a carriage return reads as part
// of a line end, a colon in a name splits it. 1.1 escapes LF and ":" but has no escape for CR,
// which many 1.1 readers take as a line end too. 1.2 escapes all of them.
const UNSAFE_NAME_10 = /[\0\n\r:]/;
const UNSAFE_VALUE_10 = /[\0\n\r]/;
const UNSAFE_11 = /[\0\r]/;

/**
 * True when a header (of a frame whose headers are escaped: SEND, MESSAGE, ... in 1.1/1.2, all
 * frames in 1.0) can be written for `version` and read back exactly. What a receiver's version
 * cannot carry is never sent to it: the fan-out leaves such a header out of that receiver's frame.
 */
export function canCarryHeader(name: string, value: string, version: StompVersion): boolean {
  if (version === "1.0") return !UNSAFE_NAME_10.test(name) && !UNSAFE_VALUE_10.test(value);
  if (version === "1.1") return !UNSAFE_11.test(name) && !UNSAFE_11.test(value);
  return !name.includes("\0") && !value.includes("\0");
}

/**
 * Why a header cannot reach receivers of every version, or undefined when it can (STOMP 1.0
 * carries the least: what it can carry, every version can).
 */
export function headerUnsafeForSomeVersion(name: string, value: string): string | undefined {
  if (canCarryHeader(name, value, "1.0")) return undefined;
  const inName = UNSAFE_NAME_10.test(name);
  const text = inName ? name : value;
  const why = text.includes("\0")
    ? "a NUL, which no STOMP version can carry in a header"
    : text.includes("\r")
      ? "a carriage return, which STOMP 1.0 and 1.1 cannot carry"
      : text.includes("\n")
        ? "a line feed, which STOMP 1.0 cannot carry"
        : "a colon, which STOMP 1.0 cannot carry in a header name";
  return `its ${inName ? "name" : "value"} contains ${why}`;
}

/**
 * Reverses `escapeHeaderValue`. An escape the version does not define (including a
 * trailing lone backslash) is fatal in 1.1/1.2: throws StompCodecError("invalid-escape").
 * `where` names the header in the error message (the parser passes e.g. 'header line 2 name').
 */
export function unescapeHeaderValue(value: string, version: StompVersion, where = "header"): string {
  if (version === "1.0") return value;
  let backslash = value.indexOf("\\");
  if (backslash === -1) return value;
  let out = "";
  let from = 0;
  while (backslash !== -1) {
    out += value.slice(from, backslash);
    const next = value.charAt(backslash + 1);
    switch (next) {
      case "\\": out += "\\"; break;
      case "n": out += "\n"; break;
      case "c": out += ":"; break;
      case "r":
        if (version === "1.2") { out += "\r"; break; }
        throw new StompCodecError(
          "invalid-escape",
          `${where}: escape "\\r" is not defined in STOMP 1.1 (only \\n \\c \\\\) in ${quote(value)}`,
        );
      case "":
        throw new StompCodecError("invalid-escape", `${where}: dangling backslash at the end of ${quote(value)}`);
      default:
        throw new StompCodecError(
          "invalid-escape",
          `${where}: undefined escape ${JSON.stringify("\\" + next)} in ${quote(value)} (STOMP ${version} defines ${version === "1.2" ? "\\r " : ""}\\n \\c \\\\)`,
        );
    }
    from = backslash + 2;
    backslash = value.indexOf("\\", from);
  }
  return out + value.slice(from);
}
