/** Where a client may put its token. */
export interface TokenSources {
  /** A CONNECT (or STOMP) frame header by name; undefined when absent. */
  readonly connectHeaders: (name: string) => string | undefined;
  /** The WebSocket upgrade URL's query string, with or without the leading "?". */
  readonly query: string;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function nonEmpty(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === "" ? undefined : t;
}

/**
 * The client's token, looked up in this order, first found wins:
 * 1. CONNECT header `passcode` (what @stomp/stompjs and classic stompjs send as the password),
 * 2. CONNECT header `Authorization: Bearer <token>` (also matched as `authorization`),
 * 3. `access_token` query parameter of the upgrade URL (browsers cannot set headers on a WebSocket).
 * Returns undefined when none carries a token.
 */
export function extractToken(sources: TokenSources): string | undefined {
  const passcode = nonEmpty(sources.connectHeaders("passcode"));
  if (passcode !== undefined) return passcode;

  const auth = nonEmpty(sources.connectHeaders("Authorization") ?? sources.connectHeaders("authorization"));
  if (auth !== undefined) {
    const m = BEARER.exec(auth);
    if (m) return m[1];
  }

  const q = sources.query.startsWith("?") ? sources.query.slice(1) : sources.query;
  if (q !== "") {
    const fromQuery = nonEmpty(new URLSearchParams(q).get("access_token") ?? undefined);
    if (fromQuery !== undefined) return fromQuery;
  }
  return undefined;
}
