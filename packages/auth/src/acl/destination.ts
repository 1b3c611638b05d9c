/**
 * The one gate every client SUBSCRIBE and SEND destination passes first.
 *
 * A valid destination is "/" followed by one or more segments separated by "/".
 * A segment is non-empty, is not "." or "..", and holds only printable
 * characters: no "%" (so no percent-encoding, single or double), no "\", no
 * control, format or whitespace characters, and no wildcard characters
 * (`* ? [ ] { }`) since destinations are literal names.
 *
 * Nothing is decoded or rewritten: a destination is either already canonical
 * or refused. Decoding is how "/user/queue/%2e%2e/B" becomes someone else's
 * queue elsewhere; refusing leaves nothing to decode.
 *
 * User destinations: a client may only name its own, as `/user/queue/<name>`;
 * the edge maps that to the authenticated user. `/user/<anything else>/…`
 * (e.g. `/user/B/queue/x`) is refused here.
 */
export type NormalizedDestination = { ok: true; destination: string } | { ok: false; reason: string };

export const MAX_DESTINATION_LENGTH = 1024;

// \p{C}: control, format (bidi overrides, zero-width), surrogates, private use, unassigned.
// \p{Z}: spaces and line/paragraph separators.
const FORBIDDEN_CHAR = /[\p{C}\p{Z}%\\*?[\]{}]/u;

function describe(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  if (ch === "%") return `"%" (percent-encoding is not accepted)`;
  if (ch === "\\") return `"\\" (backslash)`;
  if ("*?[]{}".includes(ch)) return `"${ch}" (wildcards are not accepted in a destination)`;
  return `${hex} (control, format or whitespace character)`;
}

export function normalizeDestination(dest: unknown, maxLength: number = MAX_DESTINATION_LENGTH): NormalizedDestination {
  if (typeof dest !== "string") return { ok: false, reason: "destination is missing" };
  if (dest.length === 0) return { ok: false, reason: "destination is empty" };
  if (dest.length > maxLength) return { ok: false, reason: `destination is longer than ${maxLength} characters` };
  if (!dest.startsWith("/")) return { ok: false, reason: 'destination must start with "/"' };
  const bad = FORBIDDEN_CHAR.exec(dest);
  if (bad) return { ok: false, reason: `destination contains ${describe(bad[0])}` };
  const segments = dest.slice(1).split("/");
  for (const s of segments) {
    if (s === "") return { ok: false, reason: 'destination has an empty segment ("//" or a trailing "/")' };
    if (s === "." || s === "..") return { ok: false, reason: `destination has a "${s}" segment` };
  }
  if (segments[0] === "user") {
    if (segments.length < 3 || segments[1] !== "queue")
      return { ok: false, reason: "a user destination must be /user/queue/<name>: it always means your own queue" };
  }
  return { ok: true, destination: dest };
}
